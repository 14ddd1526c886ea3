"""Demo data of this app, called by `manage.py seed_demo` after the organisation and users exist.

"Forum Diskominfo se-Jawa Tengah" (the provincial Diskominfo and all 35 regency/city Diskominfo
units), a unit channel in the demo regencies, and a few threads with messages. Idempotent: a
second run changes nothing (everything is looked up by its natural key first).

Written with the ORM rather than the services: the services check the acting person's rights
and MFA (demo admins have no second factor yet) and emit live events nobody is listening to.
"""

from __future__ import annotations

from typing import TextIO

from django.db import transaction
from django.utils import timezone

from accounts.models import Unit, User
from channels_app.models import Channel, ChannelKind, Message, Thread
from channels_app.rendering import render_message

FORUM_NAME = "Forum Diskominfo se-Jawa Tengah"
DOMAIN = "demo.jatengprov.go.id"
REGIONS = {"33.74": "semarang", "33.72": "surakarta", "33.02": "banyumas"}

FORUM_THREADS = [
    ("Persiapan evaluasi SPBE 2026", [
        ("penyusun.diskominfo", "Mohon setiap Diskominfo kabupaten/kota mengunggah bukti dukung "
         "**domain 1 sampai 3** paling lambat akhir bulan."),
        ("penyusun.semarang", "Kota Semarang sudah 80%. Apakah format bukti dukung masih sama "
         "dengan tahun lalu?"),
        ("penyusun.diskominfo", "Masih sama, ada tambahan indikator *keamanan informasi*."),
    ]),
    ("Gangguan jaringan intra pemerintah", [
        ("penyusun.surakarta", "Sejak pagi koneksi ke pusat data provinsi lambat. Ada yang "
         "mengalami hal serupa?"),
        ("penyusun.banyumas", "Banyumas juga, terutama akses aplikasi kepegawaian."),
    ]),
]


def _user(slug: str) -> User | None:
    return User.objects.filter(email=f"{slug}@{DOMAIN}").first()


def _thread(channel: Channel, title: str, posts: list[tuple[str, str]]) -> bool:
    if channel.threads.filter(title=title).exists():
        return False
    authors = [(_user(slug), body) for slug, body in posts]
    if any(author is None for author, _body in authors):
        return False
    now = timezone.now()
    thread = Thread.objects.create(channel=channel, title=title, created_by=authors[0][0],
                                   created_at=now, last_activity_at=now)
    for author, body in authors:
        Message.objects.create(thread=thread, author=author, body=body,
                               body_html=render_message(body), created_at=now)
    return True


def seed(*, password: str, stdout: TextIO) -> None:
    province_diskominfo = Unit.objects.filter(code="33.DISKOMINFO").first()
    creator = _user("admin.provinsi")
    if province_diskominfo is None or creator is None:
        stdout.write("channels: organisation not seeded yet; skipped\n")
        return
    created = 0
    with transaction.atomic():
        forum, new = Channel.objects.get_or_create(
            name=FORUM_NAME, kind=ChannelKind.FORUM, unit=province_diskominfo,
            defaults={"created_by": creator,
                      "description": "Koordinasi harian Diskominfo provinsi dan 35 "
                                     "kabupaten/kota."},
        )
        created += new
        members = Unit.objects.filter(code__regex=r"^33\.[0-9]{2}\.DISKOMINFO$")
        forum.member_units.add(province_diskominfo, *members)
        for title, posts in FORUM_THREADS:
            created += _thread(forum, title, posts)
        for code, slug in REGIONS.items():
            unit = Unit.objects.filter(code=f"{code}.DISKOMINFO").first()
            admin = _user(f"admin.{slug}")
            if unit is None or admin is None:
                continue
            channel, new = Channel.objects.get_or_create(
                name=f"Internal {unit.name}", kind=ChannelKind.UNIT, unit=unit,
                defaults={"created_by": admin},
            )
            created += new
            created += _thread(channel, "Jadwal piket layanan aduan", [
                (f"admin.{slug}", "Jadwal piket minggu ini sudah dibagikan. Silakan cek dan "
                 "sampaikan bila ada bentrok."),
                (f"asn.{slug}", "Siap, saya ambil shift Kamis."),
            ])
    stdout.write(f"channels: {created} object(s) created\n")
