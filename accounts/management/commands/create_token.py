"""`manage.py create_token <email-or-nip> --name N [--scope S]… [--expires-days D]`.

The operator's act on the server: any scope, no MFA check, audited. The token alone is printed on
the last line so that scripts can take it with `tail -n1`.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.audit import audit
from accounts.forms import normalise_nip
from accounts.models import TokenScope, User
from accounts.tokens import token_create
from common.errors import ServiceError


class Command(BaseCommand):
    help = "Create a personal API token for a user (printed once, on the last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("login", help="the user's e-mail or NIP")
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", action="append", dest="scopes",
                            choices=TokenScope.values, help="repeatable; default: read")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, login: str, name: str, scopes: list[str] | None,
               expires_days: int | None, **options) -> None:
        login = login.strip()
        user = (User.objects.filter(email__iexact=login).first()
                or User.objects.filter(nip=normalise_nip(login)).first())
        if user is None:
            raise CommandError(f"No user with e-mail or NIP {login!r}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        try:
            with transaction.atomic():
                token, secret = token_create(user=user, name=name, scopes=scopes or ["read"],
                                             expires_days=expires_days)
                audit(actor=None, action="token.create", target=token,
                      data={"user": user.email, "name": token.name, "scopes": token.scopes,
                            "by": "manage.py create_token"})
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        expiry = token.expires_at.isoformat() if token.expires_at else "never"
        self.stdout.write(f"Token {token.name!r} for {user.email}, scopes "
                          f"{','.join(token.scopes)}, expires {expiry}:")
        self.stdout.write(secret)
