"""The units' signing keys: creation, rotation, revocation, and the key a signature uses."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit
from accounts.models import Unit, User
from announcements.signing import crypto
from announcements.signing.models import SigningKey
from common.errors import NotFound, ServiceError


def signing_key_create(*, unit: Unit, actor: User | None = None,
                       valid_from: datetime | None = None) -> SigningKey:
    with transaction.atomic():
        new = crypto.generate_key()
        # Whole seconds, like the signed timestamps, so a key is valid for a signature made
        # in the second it was created.
        key = SigningKey.objects.create(unit=unit, key_id=new.key_id, public_key=new.public_raw,
                                        private_key_pem=new.private_pem,
                                        valid_from=valid_from
                                        or timezone.now().replace(microsecond=0))
        audit(actor=actor, action="signing_key.create", target=key,
              data={"unit": unit.code, "key_id": key.key_id})
    return key


def _next_whole_second() -> datetime:
    """Signed timestamps have whole seconds: an end of validity set now must not exclude a
    signature made earlier in this same second."""
    return timezone.now().replace(microsecond=0) + timedelta(seconds=1)


def active_key(unit: Unit, at: datetime | None = None) -> SigningKey | None:
    at = at or timezone.now()
    keys = SigningKey.objects.filter(unit=unit, revoked_at=None).order_by("-valid_from", "-id")
    for key in keys:
        if key.usable_at(at):
            return key
    return None


def signing_key_rotate(*, unit: Unit, actor: User | None = None) -> SigningKey:
    """A new key for the unit; the old one stops signing now but its signatures stay valid."""
    with transaction.atomic():
        now = timezone.now().replace(microsecond=0)
        SigningKey.objects.select_for_update().filter(
            unit=unit, revoked_at=None, valid_until=None
        ).update(valid_until=_next_whole_second())
        new = crypto.generate_key()
        key = SigningKey.objects.create(unit=unit, key_id=new.key_id, public_key=new.public_raw,
                                        private_key_pem=new.private_pem, valid_from=now)
        audit(actor=actor, action="signing_key.rotate", target=key,
              data={"unit": unit.code, "key_id": key.key_id})
    return key


def signing_key_revoke(*, key_id: str, reason: str = "",
                       actor: User | None = None) -> SigningKey:
    """Revoke a key from now on. Signatures made before stay verifiable ("signed before
    revocation"); anything dated after fails."""
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(key_id=key_id).first()
        if key is None:
            raise NotFound(_("Kunci tidak dikenal."))
        if key.revoked_at is not None:
            raise ServiceError("already_revoked", _("Kunci ini sudah dicabut."), status=409)
        key.revoked_at = _next_whole_second()
        key.revocation_reason = reason
        key.save(update_fields=["revoked_at", "revocation_reason"])
        audit(actor=actor, action="signing_key.revoke", target=key,
              data={"unit": key.unit.code, "key_id": key.key_id, "reason": reason})
    return key

