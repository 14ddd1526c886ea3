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


class ImmutableError(Exception):
    """A write to a published (signed) record."""


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
        """The audience in the format of comms.realtime (events) and of the signed payload."""
        return {
            "units": list(self.audience_units),
            "subunits": self.audience_subunits,
            "roles": list(self.audience_roles),
        }


class SignedRecord(models.Model):
    """What every signed record carries: the exact canonical bytes and their signature."""

    #: The exact RFC 8785 canonical JSON that was signed (UTF-8 text of the signed bytes).
    payload = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=100, blank=True, help_text="base64 Ed25519")
    key_id = models.CharField(max_length=16, blank=True)
    signing_key = models.ForeignKey(
        "SigningKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        abstract = True

    @property
    def is_signed(self) -> bool:
        return bool(self.signature)


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


class SigningKey(models.Model):
    """An Ed25519 key of a unit. The private half is stored only encrypted (PKCS#8)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="signing_keys")
    key_id = models.CharField(max_length=16, unique=True)
    public_key = models.BinaryField(help_text="raw 32-byte Ed25519 public key")
    private_key_pem = models.TextField(help_text="PKCS#8 PEM, encrypted with the passphrase")
    created_at = models.DateTimeField(default=timezone.now)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["unit_id", "-valid_from"]
        verbose_name = _("kunci penanda tangan")
        verbose_name_plural = _("kunci penanda tangan")

    def __str__(self) -> str:
        return f"{self.key_id} ({self.unit_id})"

    def usable_at(self, when) -> bool:
        """Whether a signature made at `when` is within the key's validity."""
        if when < self.valid_from:
            return False
        if self.valid_until is not None and when >= self.valid_until:
            return False
        return self.revoked_at is None or when < self.revoked_at


class Receipt(models.Model):
    """One recipient of one announcement, fixed at publication. Narrow on purpose: one row per
    recipient (300,000 for a province-wide announcement)."""

    # No single-column indexes on these two: the unique (announcement, user) and the inbox
    # (user, read_at) indexes lead with them. Every index costs on each of 300,000 inserts of a
    # province-wide publication (two fewer: 3.9 s → 2.8 s for 300,000 rows, measured).
    # No database constraint on any of the three keys: receipts are only ever written by one
    # INSERT … SELECT joining those very tables, in the transaction that holds the
    # announcement's row lock. Published announcements are never deleted (they are withdrawn;
    # the transparency log refers to them) and the ORM still cascades a draft's deletion. Each
    # deferred check is one look-up per receipt at COMMIT: user and unit cost 600,000 of them
    # (docs/performance.md, finding 10); the announcement's 300,000 cost 1.8-2.1 s more
    # (docs/performance.md, "Publication: the receipts write").
    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="receipts", db_index=False,
        db_constraint=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="receipts",
        db_index=False, db_constraint=False,
    )
    #: The unit through which the user was addressed at publication (for per-unit statistics).
    #: No index of its own: every read of receipts by unit is within one announcement, and the
    #: unique and pending indexes lead with it. The single-column index cost ~0.4 s of a
    #: province-wide publication (one index of five, measured; docs/performance.md). Deleting
    #: a unit (PROTECTed) then scans the receipts: a rare administrative act.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+",
                             db_constraint=False, db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("tanda terima")
        verbose_name_plural = _("tanda terima")
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="receipt_unique"),
        ]
        indexes = [
            # Who has not acknowledged yet, unit by unit: the pending list is read a page at a
            # time in (unit, id) order from this index (keyset pagination,
            # receipt_selectors.pending_page), never sorted whole. Partial, so it shrinks as
            # acknowledgements arrive; it replaced a full (announcement, unit, acknowledged_at)
            # index, so publication still maintains the same number of indexes.
            models.Index(
                fields=["announcement", "unit", "id"], name="receipt_unacked_idx",
                condition=models.Q(acknowledged_at=None),
            ),
            # The inbox: my receipts, unread first.
            models.Index(fields=["user", "read_at"], name="receipt_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} → {self.user_id}"


class ReceiptNotice(models.Model):
    """A reminder sent to a pending recipient, or an escalation of a pending recipient to a head
    of their unit (issue 6, announcements/reminders.py). The issuer's dashboard lists them; the
    unique constraints make a task that runs twice send nothing twice."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Pengingat")
        ESCALATION = "escalation", _("Eskalasi")

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="receipt_notices"
    )
    #: The recipient who had not acknowledged.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: Reminders: hours before the deadline (one round per configured offset); escalation: 0.
    round = models.PositiveIntegerField(default=0)
    #: Escalations: the head who was told.
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("pengingat konfirmasi")
        verbose_name_plural = _("pengingat konfirmasi")
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "user", "round"],
                condition=models.Q(kind="reminder"), name="receipt_notice_reminder_once",
            ),
            models.UniqueConstraint(
                fields=["announcement", "user", "head"],
                condition=models.Q(kind="escalation"), name="receipt_notice_escalation_once",
            ),
        ]
        indexes = [models.Index(fields=["announcement", "user"], name="receipt_notice_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.announcement_id} → {self.user_id}"


# =============================================================================================
# Transparency log (issue 8; announcements/log_services.py, docs/transparency.md).
# Every signed event is appended to an append-only Merkle log; a signed checkpoint follows each
# append; witnesses cosign checkpoints. Nothing here is ever updated or deleted: the models refuse
# it and, on PostgreSQL, triggers refuse it (migration 0004).
# =============================================================================================


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise ImmutableError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError(f"{type(self).__name__} rows are append-only")


class LogKind(models.TextChoices):
    PUBLICATION = "publication", _("Penerbitan")
    CORRECTION = "correction", _("Ralat")
    WITHDRAWAL = "withdrawal", _("Pencabutan")
    OFFICIAL_ANSWER = "official_answer", _("Jawaban resmi")


class LogEntry(AppendOnlyModel):
    """One leaf of the log. `leaf` is the RFC 8785 canonical JSON of {kind, announcement_id,
    version, content_hash, key_id, signature, published_at}; `payload` is a copy of the signed
    bytes, so that an export of the log alone lets anyone check every signature."""

    index = models.PositiveBigIntegerField(unique=True)
    kind = models.CharField(max_length=20, choices=LogKind.choices)
    announcement = models.ForeignKey(
        Announcement, on_delete=models.PROTECT, related_name="log_entries"
    )
    #: The version published (publication, correction) or in force (withdrawal, answer).
    version = models.ForeignKey(
        AnnouncementVersion, null=True, blank=True, on_delete=models.PROTECT,
        related_name="log_entries",
    )
    leaf = models.BinaryField()
    leaf_hash = models.BinaryField(max_length=32)
    payload = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["index"]
        verbose_name = _("entri log")
        verbose_name_plural = _("entri log")

    def __str__(self) -> str:
        return f"log #{self.index} {self.kind} {self.announcement_id}"


class LogKey(models.Model):
    """The log's own Ed25519 key (encrypted PKCS#8, like unit keys). Its name is the log origin,
    the first line of every checkpoint."""

    name = models.CharField(max_length=200, unique=True)
    public_key = models.BinaryField()
    private_key_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("kunci log")
        verbose_name_plural = _("kunci log")

    def __str__(self) -> str:
        return self.name


class Checkpoint(AppendOnlyModel):
    """A signed tree head: the note text (docs/transparency.md) carries size, root and time."""

    #: Not unique: two checkpoints of one size with different roots are exactly the evidence of
    #: a rewritten database that witnesses and tools/verify_log.py must be able to see.
    tree_size = models.PositiveBigIntegerField(db_index=True)
    root_hash = models.BinaryField(max_length=32)
    created_at = models.DateTimeField()
    log_key = models.ForeignKey(LogKey, on_delete=models.PROTECT, related_name="+")
    #: The signed note, log signature included (cosignatures are in WitnessCosignature).
    note = models.TextField()
    #: The tree's compact range (announcements.log): the roots of its perfect subtrees, 32
    #: bytes each, largest first. The next append starts from it instead of reading every
    #: leaf. Empty on checkpoints signed before it was kept (the next append reads the rows).
    compact_range = models.BinaryField(default=b"", blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoint")

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size}"


class Witness(models.Model):
    """An independent party (e.g. a regency's Diskominfo) that cosigns consistent checkpoints.
    Registered by an operator: `python manage.py witness_key add NAME PUBLIC_KEY`."""

    name = models.CharField(max_length=100, unique=True)
    public_key = models.BinaryField()
    operator = models.CharField(_("pengelola"), max_length=200, blank=True)
    active = models.BooleanField(default=True)
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("saksi")
        verbose_name_plural = _("saksi")

    def __str__(self) -> str:
        return self.name


class WitnessCosignature(AppendOnlyModel):
    witness = models.ForeignKey(Witness, on_delete=models.PROTECT, related_name="cosignatures")
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.PROTECT, related_name="cosignatures"
    )
    #: The note signature line ("— name base64") exactly as the witness sent it.
    signature_line = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["checkpoint_id", "witness__name"]
        constraints = [
            models.UniqueConstraint(fields=["witness", "checkpoint"], name="cosignature_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.witness} cosigned {self.checkpoint}"
