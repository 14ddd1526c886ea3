"""Signed records and the units' signing keys. Models of the announcements app (imported
by announcements.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit


class ImmutableError(Exception):
    """A write to a published (signed) record."""


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
