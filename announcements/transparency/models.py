"""The transparency log: append-only entries, checkpoints, the log key, witnesses and
their cosignatures. Models of the announcements app (imported by announcements.models)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from announcements.signing.models import ImmutableError


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
        "announcements.Announcement", on_delete=models.PROTECT, related_name="log_entries"
    )
    #: The version published (publication, correction) or in force (withdrawal, answer).
    version = models.ForeignKey(
        "announcements.AnnouncementVersion", null=True, blank=True, on_delete=models.PROTECT,
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
    #: The tree's compact range (announcements.transparency.merkle): the roots of its perfect
    #: subtrees, 32 bytes each, largest first. The next append starts from it instead of reading
    #: every leaf. Empty on checkpoints signed before it was kept (the next append reads the rows).
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
