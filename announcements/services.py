"""Write paths of announcements: one function per business action.

Pages, the JSON API, management commands and the task worker call these; none of them saves a
model itself. Every function validates, checks permission, runs in `transaction.atomic`, audits,
and emits its real-time event last in the transaction (realtime.outbox.emit).

A signed record (a published version or a withdrawal) is signed and finished by the one signing
pipeline, announcements/signing/records.py (`records.sign`, then `records.log`: the transparency
log).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from accounts.audit import audit
from accounts.models import Role, Unit, User, jurisdiction_code
from accounts.permissions import require_mfa
from announcements import files, selectors
from announcements.models import (
    Announcement,
    AnnouncementVersion,
    Attachment,
    Classification,
    Priority,
    ReviewComment,
    Status,
    VersionState,
    Withdrawal,
)
from announcements.permissions import require_author, require_signer
from announcements.receipts import services as receipts
from announcements.receipts.services import _insert_receipts
from announcements.signing import crypto, records
from common.errors import NotFound, ServiceError
from common.markdown import render_markdown
from realtime.outbox import emit

MAX_TITLE = 200
MAX_BODY = 50_000
MAX_REFERENCE = 100
MAX_REASON = 2_000
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 10
#: How far ahead a date a user supplies (acknowledgement deadline, scheduled publication) may
#: lie. Two years is past any notice's horizon and far from the calendar's end: a deadline of
#: 9999-12-31T23:59:59-12:00 is year 10000 in UTC, which Python cannot read back (every list
#: showing it answered 500).
MAX_DAYS_AHEAD = 730

_AUDIENCE_ROLES = {choice.value for choice in Role}


def _invalid(fields: dict[str, list[str]]) -> ServiceError:
    return ServiceError("invalid", _("Masukan tidak valid."), fields=fields, status=400)


@dataclass
class Content:
    """What an author writes; validated as a whole so that every error is reported at once."""

    title: str
    body: str
    reference_number: str
    priority: str = Priority.BIASA
    classification: str = Classification.INTERNAL
    audience_units: tuple[str, ...] = ()
    include_subunits: bool = True
    roles: tuple[str, ...] = ()
    requires_ack: bool = False
    ack_deadline: datetime | None = None


def _validate_moment(moment: datetime, *, field: str, errors: dict[str, list[str]],
                     after: datetime | None = None, too_early: str = "") -> None:
    """The one check of every date a user supplies, for page and API alike: it names its time
    zone, lies after `after` when given (else `too_early`), and at most MAX_DAYS_AHEAD days
    from now."""
    if timezone.is_naive(moment):
        errors.setdefault(field, []).append(_("Waktu harus memuat zona waktu."))
    elif after is not None and moment <= after:
        errors.setdefault(field, []).append(too_early)
    elif moment > timezone.now() + timedelta(days=MAX_DAYS_AHEAD):
        errors.setdefault(field, []).append(
            _("Paling lambat %(days)d hari dari sekarang.") % {"days": MAX_DAYS_AHEAD})


def _validate_text(title: str, body: str, errors: dict[str, list[str]]) -> tuple[str, str]:
    title = (title or "").strip()
    body = (body or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("Judul wajib diisi."))
    elif len(title) > MAX_TITLE:
        errors.setdefault("title", []).append(
            _("Judul paling panjang %(n)d karakter.") % {"n": MAX_TITLE}
        )
    if not body:
        errors.setdefault("body", []).append(_("Isi pengumuman wajib diisi."))
    elif len(body) > MAX_BODY:
        errors.setdefault("body", []).append(
            _("Isi pengumuman paling panjang %(n)d karakter.") % {"n": MAX_BODY}
        )
    return title, body


def _validate_content(content: Content, issuer: Unit) -> Content:
    errors: dict[str, list[str]] = {}
    title, body = _validate_text(content.title, content.body, errors)
    reference = (content.reference_number or "").strip()
    if not reference:
        errors.setdefault("reference_number", []).append(_("Nomor surat wajib diisi."))
    elif len(reference) > MAX_REFERENCE:
        errors.setdefault("reference_number", []).append(_("Nomor surat terlalu panjang."))
    if content.priority not in Priority.values:
        errors.setdefault("priority", []).append(_("Sifat pengumuman tidak dikenal."))
    if content.classification not in Classification.values:
        errors.setdefault("classification", []).append(_("Klasifikasi tidak dikenal."))
    codes = sorted({code.strip() for code in content.audience_units if code.strip()})
    if not codes:
        errors.setdefault("audience.units", []).append(_("Pilih minimal satu unit tujuan."))
    known = set(Unit.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known]
    if unknown:
        errors.setdefault("audience.units", []).append(
            _("Unit tidak dikenal: %(codes)s.") % {"codes": ", ".join(unknown)}
        )
    jurisdiction = jurisdiction_code(issuer.code)
    outside = [
        code for code in codes
        if code in known and not (code == jurisdiction or code.startswith(f"{jurisdiction}."))
    ]
    if outside:
        errors.setdefault("audience.units", []).append(
            _("Unit di luar wilayah kewenangan penerbit (%(j)s): %(codes)s.")
            % {"j": jurisdiction, "codes": ", ".join(outside)}
        )
    roles = sorted(set(content.roles))
    if any(role not in _AUDIENCE_ROLES for role in roles):
        errors.setdefault("audience.roles", []).append(_("Peran tidak dikenal."))
    if content.ack_deadline is not None:
        _validate_moment(content.ack_deadline, field="ack_deadline", errors=errors,
                         after=timezone.now(),
                         too_early=_("Batas konfirmasi harus di masa depan."))
        if not content.requires_ack:
            errors.setdefault("ack_deadline", []).append(
                _("Batas konfirmasi hanya untuk pengumuman yang wajib dikonfirmasi.")
            )
    if errors:
        raise _invalid(errors)
    return Content(
        title=title, body=body, reference_number=reference, priority=content.priority,
        classification=content.classification, audience_units=tuple(codes),
        include_subunits=bool(content.include_subunits), roles=tuple(roles),
        requires_ack=bool(content.requires_ack), ack_deadline=content.ack_deadline,
    )


def _locked(announcement_id: int) -> Announcement:
    """The announcement row, locked for the rest of the transaction (one writer at a time)."""
    announcement = (
        Announcement.objects.select_for_update()
        .select_related("issuer")
        .filter(pk=announcement_id)
        .first()
    )
    if announcement is None:
        raise NotFound()
    return announcement


def _pending(announcement: Announcement) -> AnnouncementVersion | None:
    """The version being worked on (draft, in review or scheduled), if any."""
    return (
        announcement.versions.exclude(state=VersionState.PUBLISHED).order_by("-number").first()
    )


def _require_pending(announcement: Announcement, *states: str) -> AnnouncementVersion:
    version = _pending(announcement)
    if version is None or version.state not in states:
        raise ServiceError(
            "invalid_state",
            _("Tindakan ini tidak dapat dilakukan pada status pengumuman saat ini."),
            status=409,
        )
    return version


# --- Drafting -------------------------------------------------------------------------------


@transaction.atomic
def announcement_create(*, actor: User, issuer_code: str, content: Content,
                        ip: str | None = None) -> Announcement:
    issuer = Unit.objects.filter(code=issuer_code).first()
    if issuer is None:
        raise _invalid({"issuer": [_("Unit penerbit tidak dikenal.")]})
    require_author(actor, issuer)
    clean = _validate_content(content, issuer)
    announcement = Announcement(
        issuer=issuer, reference_number=clean.reference_number, priority=clean.priority,
        classification=clean.classification, audience_units=list(clean.audience_units),
        audience_subunits=clean.include_subunits, audience_roles=list(clean.roles),
        requires_ack=clean.requires_ack, ack_deadline=clean.ack_deadline,
        created_by=actor,
    )
    announcement.full_clean()
    announcement.save()
    version = AnnouncementVersion(
        announcement=announcement, number=1, title=clean.title, body=clean.body,
        body_html=render_markdown(clean.body), author=actor,
    )
    version.save()
    audit(actor=actor, action="announcement.create", target=announcement,
          data={"version": 1}, ip=ip)
    return announcement


@transaction.atomic
def announcement_edit(*, actor: User, announcement_id: int, content: Content,
                      ip: str | None = None) -> Announcement:
    """Edit the draft. Before the first publication everything may change; a correction draft
    may change only title and body (the reference number and audience are the announcement's)."""
    announcement = _locked(announcement_id)
    require_author(actor, announcement.issuer)
    version = _require_pending(announcement, VersionState.DRAFT)
    if announcement.current_version_id is None:
        clean = _validate_content(content, announcement.issuer)
        announcement.reference_number = clean.reference_number
        announcement.priority = clean.priority
        announcement.classification = clean.classification
        announcement.audience_units = list(clean.audience_units)
        announcement.audience_subunits = clean.include_subunits
        announcement.audience_roles = list(clean.roles)
        announcement.requires_ack = clean.requires_ack
        announcement.ack_deadline = clean.ack_deadline
        announcement.save()
        title, body = clean.title, clean.body
    else:
        errors: dict[str, list[str]] = {}
        title, body = _validate_text(content.title, content.body, errors)
        if errors:
            raise _invalid(errors)
    version.title, version.body = title, body
    version.body_html = render_markdown(body)
    version.updated_at = timezone.now()
    version.save()
    audit(actor=actor, action="announcement.edit", target=announcement,
          data={"version": version.number}, ip=ip)
    return announcement


@transaction.atomic
def attachment_add(*, actor: User, announcement_id: int, name: str, data: bytes,
                   ip: str | None = None) -> Attachment:
    """Attach a PDF, PNG or JPEG to the draft. The file is stored under its SHA-256 (so a
    rolled-back transaction can at worst leave an unreferenced, content-addressed file)."""
    announcement = _locked(announcement_id)
    require_author(actor, announcement.issuer)
    version = _require_pending(announcement, VersionState.DRAFT)
    name = (name or "").strip().replace("/", "_").replace("\\", "_")[:200] or "lampiran"
    if len(data) == 0:
        raise _invalid({"attachment": [_("Berkas kosong.")]})
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise _invalid({"attachment": [
            _("Lampiran paling besar %(mb)d MB.") % {"mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)}
        ]})
    # The bytes say what the file is; the client's declared type and the name are not trusted.
    kind = files.sniff(data[:files.HEAD_BYTES])
    if kind not in files.UPLOADABLE:
        raise _invalid({"attachment": [_("Lampiran harus berupa PDF, PNG atau JPEG.")]})
    if version.attachments.count() >= MAX_ATTACHMENTS:
        raise _invalid({"attachment": [_("Terlalu banyak lampiran.")]})
    digest = hashlib.sha256(data).hexdigest()
    attachment = Attachment(version=version, name=name, content_type=kind.content_type,
                            size=len(data), sha256=digest)
    path = f"announcements/{digest[:2]}/{digest}"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(data))
    attachment.file.name = path
    attachment.save()
    audit(actor=actor, action="announcement.attachment_add", target=announcement,
          data={"name": name, "sha256": digest}, ip=ip)
    return attachment


@transaction.atomic
def attachment_remove(*, actor: User, attachment_id: int, ip: str | None = None) -> None:
    attachment = Attachment.objects.select_related("version").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    announcement = _locked(attachment.version.announcement_id)
    require_author(actor, announcement.issuer)
    if attachment.version.state != VersionState.DRAFT:
        raise ServiceError("invalid_state", _("Lampiran hanya dapat dihapus dari draf."),
                           status=409)
    attachment.delete()
    audit(actor=actor, action="announcement.attachment_remove", target=announcement,
          data={"name": attachment.name}, ip=ip)


@transaction.atomic
def announcement_submit(*, actor: User, announcement_id: int,
                        ip: str | None = None) -> Announcement:
    announcement = _locked(announcement_id)
    require_author(actor, announcement.issuer)
    version = _require_pending(announcement, VersionState.DRAFT)
    version.state = VersionState.IN_REVIEW
    version.submitted_at = timezone.now()
    version.save()
    if announcement.current_version_id is None:
        announcement.status = Status.IN_REVIEW
        announcement.save(update_fields=["status"])
    audit(actor=actor, action="announcement.submit", target=announcement,
          data={"version": version.number}, ip=ip)
    return announcement


@transaction.atomic
def announcement_return(*, actor: User, announcement_id: int, comment: str,
                        ip: str | None = None) -> Announcement:
    """A signer (with MFA) sends the version under review back to the author, or cancels a
    scheduled publication. Both undo a signer's decision, so they ask what signing asks: a
    stolen password alone must not be able to hold back a publication."""
    announcement = _locked(announcement_id)
    _require_can_sign(actor, announcement)
    comment = (comment or "").strip()
    if not comment:
        raise _invalid({"comment": [_("Tuliskan alasan pengembalian.")]})
    if len(comment) > MAX_REASON:
        raise _invalid({"comment": [_("Komentar terlalu panjang.")]})
    version = _require_pending(announcement, VersionState.IN_REVIEW, VersionState.SCHEDULED)
    version.state = VersionState.DRAFT
    version.scheduled_for = None
    version.signer = None
    version.save()
    ReviewComment.objects.create(version=version, author=actor, body=comment,
                                 kind=ReviewComment.Kind.RETURNED)
    if announcement.current_version_id is None:
        announcement.status = Status.DRAFT
        announcement.save(update_fields=["status"])
    audit(actor=actor, action="announcement.return", target=announcement,
          data={"version": version.number, "comment": comment}, ip=ip)
    return announcement


@transaction.atomic
def announcement_correct(*, actor: User, announcement_id: int, title: str, body: str,
                         reason: str, requires_reack: bool = False,
                         ip: str | None = None) -> AnnouncementVersion:
    """Start a correction (ralat): a new draft version of a published announcement. It goes
    through the same review, and on publication supersedes the version in force."""
    announcement = _locked(announcement_id)
    require_author(actor, announcement.issuer)
    if announcement.status != Status.PUBLISHED:
        raise ServiceError("invalid_state",
                           _("Hanya pengumuman yang sudah terbit dapat diralat."), status=409)
    if _pending(announcement) is not None:
        raise ServiceError("invalid_state", _("Ralat untuk pengumuman ini sedang disusun."),
                           status=409)
    errors: dict[str, list[str]] = {}
    title, body = _validate_text(title, body, errors)
    reason = (reason or "").strip()
    if not reason:
        errors.setdefault("reason", []).append(_("Alasan ralat wajib diisi."))
    elif len(reason) > MAX_REASON:
        errors.setdefault("reason", []).append(_("Alasan ralat terlalu panjang."))
    if errors:
        raise _invalid(errors)
    current = announcement.current_version
    version = AnnouncementVersion.objects.create(
        announcement=announcement, number=current.number + 1, title=title, body=body,
        body_html=render_markdown(body), reason=reason, requires_reack=bool(requires_reack),
        author=actor,
    )
    # Attachments carry over (same stored files); the author may remove or add in the draft.
    Attachment.objects.bulk_create(
        Attachment(version=version, file=a.file.name, name=a.name, content_type=a.content_type,
                   size=a.size, sha256=a.sha256)
        for a in current.attachments.all()
    )
    audit(actor=actor, action="announcement.correct", target=announcement,
          data={"version": version.number, "reason": reason}, ip=ip)
    return version


# --- Publication ----------------------------------------------------------------------------


def _event_data(announcement: Announcement, version: AnnouncementVersion) -> dict:
    issuer = announcement.issuer
    return {
        "id": announcement.pk,
        "version": version.number,
        "title": version.title,
        "priority": announcement.priority,
        "issuer": {"code": issuer.code, "name": issuer.name},
        "reference_number": announcement.reference_number,
        "published_at": crypto.rfc3339(version.published_at),
        "requires_ack": announcement.requires_ack,
        "ack_deadline": crypto.rfc3339(announcement.ack_deadline),
        "verify_code": announcement.verify_code,
        "url": reverse("announcements:detail", args=[announcement.pk]),
    }


def _emit(kind: str, announcement: Announcement, version: AnnouncementVersion) -> None:
    emit(
        type=f"announcement.{kind}",
        data=_event_data(announcement, version),
        groups=[f"unit.{code}" for code in announcement.audience_units],
        audience=announcement.audience,
    )


def _require_second_person(version: AnnouncementVersion, signer: User) -> None:
    """The two-person rule, checked wherever a version is signed or scheduled for signing:
    whoever wrote a version (settings.TWO_PERSON_RULE) cannot also be the one who signs it."""
    if not selectors.may_sign_as_second_person(signer, version):
        raise ServiceError(
            "two_person_rule",
            _("Pemisahan tugas: Anda ikut menyusun versi ini, sehingga versi ini harus "
              "ditandatangani oleh penanda tangan lain."),
            status=403,
        )


def _publish(announcement: Announcement, version: AnnouncementVersion, signer: User,
             ip: str | None) -> Announcement:
    """Sign and publish `version` now. Caller holds the announcement lock."""
    _require_second_person(version, signer)
    now = timezone.now().replace(microsecond=0)  # whole seconds: the payload's precision
    previous = announcement.current_version
    # A unit's first publication creates its key (docs/signing.md).
    signed = records.sign(
        unit=announcement.issuer, at=now, create_key=True,
        payload=lambda key_id: crypto.version_payload(
            version, signer=signer, key_id=key_id, published_at=now,
            supersedes=previous.content_hash if previous else None,
        ),
    )
    version.payload = signed.payload
    version.content_hash = signed.content_hash
    version.signature = signed.signature
    version.key_id = signed.key_id
    version.signing_key = signed.key
    version.signer = signer
    version.published_at = now
    version.supersedes_hash = previous.content_hash if previous else ""
    version.state = VersionState.PUBLISHED
    version.save()
    announcement.current_version = version
    announcement.status = Status.PUBLISHED
    if previous is None:
        announcement.first_published_at = now
    announcement.save(update_fields=["current_version", "status", "first_published_at"])
    recipients = _insert_receipts(announcement, now) if previous is None else None
    # Acknowledgements (issue 6): a correction may reset them; a first publication with a
    # deadline schedules reminders and escalation, in this same transaction.
    receipts.receipts_on_publish(announcement=announcement, version=version,
                                 first=previous is None)
    audit(actor=signer, action="announcement.publish", target=announcement,
          data={"version": version.number, "content_hash": version.content_hash,
                "key_id": signed.key_id, "recipients": recipients}, ip=ip)
    records.log(version)  # last before the event: see records.log
    _emit("corrected" if previous else "published", announcement, version)
    return announcement


def _require_can_sign(actor: User, announcement: Announcement) -> None:
    require_signer(actor, announcement.issuer)
    require_mfa(actor)


@transaction.atomic
def announcement_publish(*, actor: User, announcement_id: int,
                         publish_at: datetime | None = None,
                         ip: str | None = None) -> Announcement:
    """A signer of the issuer unit (with MFA) publishes the version under review — now, or at
    `publish_at` through a deferred task."""
    announcement = _locked(announcement_id)
    _require_can_sign(actor, announcement)
    version = _require_pending(announcement, VersionState.IN_REVIEW)
    errors: dict[str, list[str]] = {}
    at = None
    if publish_at is not None:
        _validate_moment(publish_at, field="publish_at", errors=errors)
        # A time already past means "now", as an empty one does.
        if not errors and publish_at > timezone.now():
            at = publish_at
    deadline = announcement.ack_deadline
    if announcement.current_version_id is None and deadline is not None:
        # The deadline was checked when written; the draft may have waited past it since.
        _validate_moment(deadline, field="ack_deadline", errors=errors,
                         after=at or timezone.now(),
                         too_early=_("Batas konfirmasi harus setelah waktu terbit; "
                                     "ubah draf terlebih dahulu."))
    if errors:
        raise _invalid(errors)
    if at is not None:
        return _schedule(announcement, version, actor, at, ip)
    return _publish(announcement, version, actor, ip)


def _schedule(announcement: Announcement, version: AnnouncementVersion, signer: User,
              at: datetime, ip: str | None) -> Announcement:
    _require_second_person(version, signer)
    version.state = VersionState.SCHEDULED
    version.scheduled_for = at
    version.signer = signer
    version.save()
    if announcement.current_version_id is None:
        announcement.status = Status.SCHEDULED
        announcement.save(update_fields=["status"])
    # The database task backend writes its row in this transaction: scheduled together or not.
    publish_scheduled.using(run_after=at).enqueue(version_id=version.pk)
    audit(actor=signer, action="announcement.schedule", target=announcement,
          data={"version": version.number, "at": crypto.rfc3339(at)}, ip=ip)
    return announcement


@transaction.atomic
def announcement_publish_scheduled(*, version_id: int) -> Announcement | None:
    """Run by the task worker at the scheduled time. Does nothing if the version was returned
    meanwhile; refuses if the signer lost the role or MFA (checked again now, not trusted)."""
    version = AnnouncementVersion.objects.filter(pk=version_id).first()
    if version is None:
        return None
    announcement = _locked(version.announcement_id)
    version = AnnouncementVersion.objects.get(pk=version_id)
    if version.state != VersionState.SCHEDULED or version.signer is None:
        return None
    if version.scheduled_for and version.scheduled_for > timezone.now():
        return None
    signer = version.signer
    _require_can_sign(signer, announcement)
    return _publish(announcement, version, signer, None)


@transaction.atomic
def announcement_withdraw(*, actor: User, announcement_id: int, reason: str,
                          ip: str | None = None) -> Withdrawal:
    """A signed withdrawal (pencabutan). The announcement stays readable, marked withdrawn."""
    announcement = _locked(announcement_id)
    _require_can_sign(actor, announcement)
    if announcement.status != Status.PUBLISHED:
        raise ServiceError("invalid_state",
                           _("Hanya pengumuman yang sudah terbit dapat dicabut."), status=409)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid({"reason": [_("Alasan pencabutan wajib diisi.")]})
    if len(reason) > MAX_REASON:
        raise _invalid({"reason": [_("Alasan pencabutan terlalu panjang.")]})
    return _withdraw(announcement, actor, reason, ip)


def _withdraw(announcement: Announcement, signer: User, reason: str,
              ip: str | None) -> Withdrawal:
    """Sign and record the withdrawal. Caller holds the announcement lock and has checked."""
    now = timezone.now().replace(microsecond=0)
    # Same key rule as a publication: the unit's active key, created if it has none.
    signed = records.sign(
        unit=announcement.issuer, at=now, create_key=True,
        payload=lambda key_id: crypto.withdrawal_payload(
            announcement, reason=reason, signer=signer, key_id=key_id, withdrawn_at=now),
    )
    withdrawal = Withdrawal.objects.create(
        announcement=announcement, reason=reason, withdrawn_at=now, payload=signed.payload,
        content_hash=signed.content_hash, signature=signed.signature,
        key_id=signed.key_id, signing_key=signed.key, signer=signer,
    )
    # A pending correction dies with the announcement.
    announcement.versions.exclude(state=VersionState.PUBLISHED).delete()
    announcement.status = Status.WITHDRAWN
    announcement.withdrawn_at = now
    announcement.save(update_fields=["status", "withdrawn_at"])
    audit(actor=signer, action="announcement.withdraw", target=announcement,
          data={"reason": reason, "content_hash": withdrawal.content_hash}, ip=ip)
    records.log(withdrawal)  # last before the event: see records.log
    _emit("withdrawn", announcement, announcement.current_version)
    return withdrawal


def receipt_mark_read(*, user: User, announcement_id: int) -> bool:
    """Mark the user's receipt delivered and read (first opening only). False: no receipt.

    The receipt services live in announcements.receipts.services (issue 6); this keeps the page's
    call.
    """
    try:
        receipts.receipt_mark_read(user=user, announcement_id=announcement_id)
    except NotFound:
        return False
    return True


@task()
def publish_scheduled(version_id: int) -> None:
    """Publish a version that a signer scheduled for later (see services._schedule)."""
    announcement_publish_scheduled(version_id=version_id)
