"""Manage units' Ed25519 signing keys: create, rotate, revoke, list."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Unit
from announcements.signing import keys as signing_keys
from announcements.signing.crypto import rfc3339
from announcements.signing.models import SigningKey
from common.errors import ServiceError


class Command(BaseCommand):
    help = "Create, rotate, revoke or list the signing keys of a unit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "rotate", "revoke", "list"])
        parser.add_argument("--unit", help="unit code, e.g. 33.SETDA (list: optional)")
        parser.add_argument("--key-id", help="revoke: the key to revoke (default: unit's active)")
        parser.add_argument("--reason", default="", help="revoke: why")

    def handle(self, *args, action: str, unit: str | None, key_id: str | None,
               reason: str, **options) -> None:
        unit_obj = None
        if unit:
            unit_obj = Unit.objects.filter(code=unit).first()
            if unit_obj is None:
                raise CommandError(f"unknown unit {unit!r}")
        elif action != "list" and not (action == "revoke" and key_id):
            raise CommandError("--unit is required")
        try:
            if action == "create":
                key = signing_keys.signing_key_create(unit=unit_obj)
                self.stdout.write(f"created {key.key_id} for {unit_obj.code}")
            elif action == "rotate":
                key = signing_keys.signing_key_rotate(unit=unit_obj)
                self.stdout.write(f"rotated: {key.key_id} is now the key of {unit_obj.code}")
            elif action == "revoke":
                if not key_id:
                    active = signing_keys.active_key(unit_obj)
                    if active is None:
                        raise CommandError(f"{unit_obj.code} has no active key")
                    key_id = active.key_id
                key = signing_keys.signing_key_revoke(key_id=key_id, reason=reason)
                self.stdout.write(f"revoked {key.key_id} at {rfc3339(key.revoked_at)}")
            else:
                keys = SigningKey.objects.select_related("unit").order_by("unit__code",
                                                                          "valid_from")
                if unit_obj is not None:
                    keys = keys.filter(unit=unit_obj)
                for key in keys:
                    state = "revoked" if key.revoked_at else (
                        "retired" if key.valid_until else "active")
                    self.stdout.write(
                        f"{key.key_id}  {key.unit.code:<20} {state:<8} "
                        f"from {rfc3339(key.valid_from)} until {rfc3339(key.valid_until) or '-'}"
                        f" revoked {rfc3339(key.revoked_at) or '-'}"
                    )
        except ServiceError as error:
            raise CommandError(error.message) from error
