"""Official announcements, their signed versions, attachments, signing keys and receipts.

An `Announcement` is the stable identity (issuer, reference number, audience, verification code);
its text lives in `AnnouncementVersion` rows. A version is a draft until a signer publishes it;
from then on it is immutable: `save()` refuses to update it and, on PostgreSQL, a trigger refuses
UPDATE and DELETE of a published row (migration 0002), so no code path can rewrite history.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit
from announcements.receipts.models import Receipt, ReceiptNotice  # noqa: F401  (the app's models)
from announcements.signing.models import (
    ImmutableError,
    SignedRecord,
    SigningKey,  # noqa: F401  (the app's models)
)
from announcements.transparency.models import (  # noqa: F401  (the app's models)
    Checkpoint,
    LogEntry,
    LogKey,
    Witness,
    WitnessCosignature,
)

#: Verification codes avoid look-alike characters (0/O, 1/I/L): people type them from paper.
VERIFY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VERIFY_CODE_LENGTH = 10


def new_verify_code() -> str:
    return "".join(secrets.choice(VERIFY_ALPHABET) for _ in range(VERIFY_CODE_LENGTH))


class Priority(models.TextChoices):
    BIASA = "biasa", _("Biasa")
    PENTING = "penting", _("Penting")
    SEGERA = "segera", _("Segera")
    SANGAT_SEGERA = "sangat_segera", _("Sangat segera")


class Classification(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    PUBLIC = "public", _("Publik")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draf")
    IN_REVIEW = "in_review", _("Dalam peninjauan")
    SCHEDULED = "scheduled", _("Terjadwal")
    PUBLISHED = "published", _("Terbit")
    WITHDRAWN = "withdrawn", _("Dicabut")


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draf")
    IN_REVIEW = "in_review", _("Dalam peninjauan")
    SCHEDULED = "scheduled", _("Terjadwal")
    PUBLISHED = "published", _("Terbit")


class Announcement(models.Model):
    issuer = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="issued_announcements",
        verbose_name=_("unit penerbit"),
    )
    reference_number = models.CharField(_("nomor surat"), max_length=100)
    priority = models.CharField(
        _("sifat"), max_length=20, choices=Priority.choices, default=Priority.BIASA
    )
    classification = models.CharField(
        _("klasifikasi"), max_length=20, choices=Classification.choices,
        default=Classification.INTERNAL,
    )
    #: Audience: unit codes, whether their sub-units are included, optional roles (empty: all).
    audience_units = models.JSONField(_("unit tujuan"), default=list)
    audience_subunits = models.BooleanField(_("termasuk sub-unit"), default=True)
    audience_roles = models.JSONField(_("peran tujuan"), default=list, blank=True)
    requires_ack = models.BooleanField(_("wajib konfirmasi"), default=False)
    ack_deadline = models.DateTimeField(_("batas konfirmasi"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    current_version = models.ForeignKey(
        "AnnouncementVersion", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="the published version in force",
    )
    verify_code = models.CharField(
        _("kode verifikasi"), max_length=16, unique=True, default=new_verify_code, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    first_published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_published_at", "-id"]
        verbose_name = _("pengumuman")
        verbose_name_plural = _("pengumuman")
        indexes = [models.Index(fields=["issuer", "status"])]

    def __str__(self) -> str:
        return f"{self.reference_number} ({self.verify_code})"

    @property
    def audience(self) -> dict:
        """The audience in the format of realtime.outbox (events) and of the signed payload."""
        return {
            "units": list(self.audience_units),
            "subunits": self.audience_subunits,
            "roles": list(self.audience_roles),
        }


class AnnouncementVersion(SignedRecord):
    announcement = models.ForeignKey(
        Announcement, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("versi"))
    state = models.CharField(
        max_length=20, choices=VersionState.choices, default=VersionState.DRAFT
    )
    title = models.CharField(_("judul"), max_length=200)
    body = models.TextField(_("isi (Markdown)"))
    #: Rendered and sanitised at write time (markdown-it-py without HTML, then nh3).
    body_html = models.TextField(blank=True)
    reason = models.TextField(_("alasan ralat"), blank=True)
    #: For issue 6: a correction whose publication asks recipients to acknowledge again.
    requires_reack = models.BooleanField(_("minta konfirmasi ulang"), default=False)
    supersedes_hash = models.CharField(max_length=64, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["announcement_id", "number"]
        verbose_name = _("versi pengumuman")
        verbose_name_plural = _("versi pengumuman")
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "number"], name="announcement_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            stored = (
                type(self).objects.filter(pk=self.pk).values_list("state", flat=True).first()
            )
            if stored == VersionState.PUBLISHED:
                raise ImmutableError("a published announcement version cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.state == VersionState.PUBLISHED:
            raise ImmutableError("a published announcement version cannot be deleted")
        return super().delete(*args, **kwargs)


def attachment_path(instance: Attachment, filename: str) -> str:
    # The name on disk is the content hash: identical files share a path; names live in the row.
    return f"announcements/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    version = models.ForeignKey(
        AnnouncementVersion, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    name = models.CharField(_("nama berkas"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        verbose_name = _("lampiran")
        verbose_name_plural = _("lampiran")

    def __str__(self) -> str:
        return self.name


class Withdrawal(SignedRecord):
    """A signed withdrawal (pencabutan) of an announcement; immutable like a published version."""

    announcement = models.OneToOneField(
        Announcement, on_delete=models.PROTECT, related_name="withdrawal"
    )
    reason = models.TextField(_("alasan pencabutan"))
    withdrawn_at = models.DateTimeField()

    class Meta:
        verbose_name = _("pencabutan")
        verbose_name_plural = _("pencabutan")

    def __str__(self) -> str:
        return f"withdrawal of {self.announcement_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ImmutableError("a withdrawal cannot be changed")
        super().save(*args, **kwargs)


class ReviewComment(models.Model):
    class Kind(models.TextChoices):
        COMMENT = "comment", _("Komentar")
        RETURNED = "returned", _("Dikembalikan")

    version = models.ForeignKey(
        AnnouncementVersion, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.COMMENT)
    body = models.TextField(_("komentar"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("komentar peninjauan")
        verbose_name_plural = _("komentar peninjauan")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.version}"
