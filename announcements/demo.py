"""Demo announcements, published by `manage.py seed_demo` after accounts.demo has run.

Idempotent: an announcement whose (issuer, reference number) exists is left alone. Authors and
signers are found by membership (whoever accounts.demo made author/signer of the unit), so this
module does not depend on the demo e-mail addresses.

Drafting and review go through the normal services. Publication and withdrawal are signed with
the units' real keys through the same internal steps the services use, but without the MFA
check: demo signers have no second factor enrolled (enrolling one here would lock them out of
the demo login), and the seed is the operator acting on the server, not a person at a browser.
The two-person rule still holds (it lives in those steps): a unit's signer never drafts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Role, Unit, User
from announcements import services
from announcements.models import Announcement


@dataclass(frozen=True)
class DemoAnnouncement:
    issuer: str
    reference: str
    title: str
    body: str
    audience: tuple[str, ...]
    priority: str = "biasa"
    classification: str = "internal"
    roles: tuple[str, ...] = ()
    requires_ack: bool = False
    ack_days: int | None = None
    correction: tuple[str, str, str] | None = None  # (title, body, reason)
    withdrawal: str = ""
    stop_at_review: bool = False


DEMO = [
    DemoAnnouncement(
        issuer="33.SETDA", reference="800.1/0215/2026",
        title="Apel Hari Kesadaran Nasional bulan ini",
        body=(
            "Diberitahukan kepada seluruh ASN di lingkungan Pemerintah Provinsi Jawa Tengah "
            "dan pemerintah kabupaten/kota bahwa **Apel Hari Kesadaran Nasional** dilaksanakan "
            "pada tanggal 17 pukul 07.30 WIB di halaman kantor masing-masing.\n\n"
            "1. Pakaian: Korpri lengkap.\n"
            "2. Kepala perangkat daerah bertindak sebagai pembina apel.\n"
            "3. Daftar hadir dilaporkan melalui aplikasi kepegawaian.\n\n"
            "Demikian untuk dilaksanakan."
        ),
        audience=("33",), priority="penting", classification="public",
        requires_ack=True, ack_days=7,
    ),
    DemoAnnouncement(
        issuer="33.DISKOMINFO", reference="555/0412/2026",
        title="Pemeliharaan jaringan intra pemerintah",
        body=(
            "Jaringan intra pemerintah (JIP) akan dipelihara pada **Sabtu pukul 22.00-24.00 "
            "WIB**. Selama pemeliharaan, layanan surel dinas dan aplikasi persuratan tidak "
            "dapat diakses.\n\nInformasi lebih lanjut: https://diskominfo.jatengprov.go.id"
        ),
        audience=("33.DISKOMINFO", "33.74.DISKOMINFO", "33.72.DISKOMINFO", "33.02.DISKOMINFO"),
        priority="segera",
        correction=(
            "Pemeliharaan jaringan intra pemerintah (jadwal diubah)",
            "Jaringan intra pemerintah (JIP) akan dipelihara pada **Minggu pukul 01.00-03.00 "
            "WIB** (semula Sabtu malam). Selama pemeliharaan, layanan surel dinas dan aplikasi "
            "persuratan tidak dapat diakses.\n\n"
            "Informasi lebih lanjut: https://diskominfo.jatengprov.go.id",
            "Jadwal pemeliharaan dipindah karena bertepatan dengan kegiatan daerah.",
        ),
    ),
    DemoAnnouncement(
        issuer="33.74.DISKOMINFO", reference="005/0981/2026",
        title="Rapat koordinasi Satu Data Kota Semarang",
        body=(
            "Mengundang operator data seluruh perangkat daerah Kota Semarang untuk menghadiri "
            "rapat koordinasi **Satu Data** pada Rabu pukul 09.00 WIB di Ruang Rapat Lokakrida, "
            "Balai Kota Semarang.\n\nMohon membawa rekap data sektoral triwulan berjalan."
        ),
        audience=("33.74",), requires_ack=True, ack_days=3,
    ),
    DemoAnnouncement(
        issuer="33.74.DISKOMINFO", reference="005/0975/2026",
        title="Pelatihan tanda tangan elektronik",
        body=(
            "Pelatihan penggunaan tanda tangan elektronik bagi pejabat penanda tangan "
            "dilaksanakan Kamis pukul 13.00 WIB secara daring."
        ),
        audience=("33.74",), roles=("signer", "head"),
        withdrawal="Pelatihan ditunda; jadwal baru akan diumumkan kemudian.",
    ),
    DemoAnnouncement(
        issuer="33.72.DISKOMINFO", reference="045/0333/2026",
        title="Waspada pesan berantai palsu mengatasnamakan Wali Kota",
        body=(
            "Beredar pesan berantai yang mengatasnamakan Wali Kota Surakarta dan meminta data "
            "pribadi ASN. **Pesan tersebut palsu.** Pengumuman resmi selalu dapat dicek "
            "keasliannya melalui kode verifikasi yang tercantum."
        ),
        audience=("33.72",), priority="sangat_segera", classification="public",
    ),
    DemoAnnouncement(
        issuer="33.74.DISKOMINFO", reference="005/0990/2026",
        title="Pembaruan aplikasi persuratan",
        body="Aplikasi persuratan diperbarui ke versi 3.2 pada akhir pekan ini.",
        audience=("33.74.DISKOMINFO",), stop_at_review=True,
    ),
]


def _member_with(unit: Unit, role: str, *, other_than: User | None = None) -> User | None:
    memberships = Membership.objects.filter(unit=unit, role=role, user__is_active=True)
    if other_than is not None:
        memberships = memberships.exclude(user=other_than)
    membership = memberships.select_related("user").order_by("id").first()
    return membership.user if membership else None


def _seed_one(item: DemoAnnouncement) -> str:
    issuer = Unit.objects.filter(code=item.issuer).first()
    if issuer is None:
        return f"skipped {item.reference}: unit {item.issuer} missing"
    if Announcement.objects.filter(issuer=issuer, reference_number=item.reference).exists():
        return ""
    signer = _member_with(issuer, Role.SIGNER)
    # Someone else drafts: the signer of a version may not have written it (TWO_PERSON_RULE).
    author = _member_with(issuer, Role.AUTHOR, other_than=signer)
    if author is None or signer is None:
        return f"skipped {item.reference}: no author and separate signer in {item.issuer}"
    deadline = timezone.now() + timedelta(days=item.ack_days) if item.ack_days else None
    with transaction.atomic():
        announcement = services.announcement_create(
            actor=author, issuer_code=item.issuer,
            content=services.Content(
                title=item.title, body=item.body, reference_number=item.reference,
                priority=item.priority, classification=item.classification,
                audience_units=item.audience, roles=item.roles,
                requires_ack=item.requires_ack, ack_deadline=deadline,
            ),
        )
        services.announcement_submit(actor=author, announcement_id=announcement.pk)
        if item.stop_at_review:
            return f"{item.reference}: in review"
        _publish_as_operator(announcement.pk, signer)
        if item.correction:
            title, body, reason = item.correction
            services.announcement_correct(actor=author, announcement_id=announcement.pk,
                                          title=title, body=body, reason=reason)
            services.announcement_submit(actor=author, announcement_id=announcement.pk)
            _publish_as_operator(announcement.pk, signer)
        if item.withdrawal:
            locked = services._locked(announcement.pk)
            services._withdraw(locked, signer, item.withdrawal, None)
    return f"{item.reference}: published ({announcement.verify_code})"


def _publish_as_operator(announcement_id: int, signer: User) -> None:
    announcement = services._locked(announcement_id)
    version = services._require_pending(announcement, "in_review")
    services._publish(announcement, version, signer, None)


def seed(*, password: str, stdout: TextIO) -> None:
    for item in DEMO:
        line = _seed_one(item)
        if line:
            stdout.write(f"announcements: {line}\n")
