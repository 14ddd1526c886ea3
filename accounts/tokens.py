"""Personal API tokens: creation (shown once), hashing, and authentication."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, TokenScope, User
from common.errors import ServiceError


def token_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret; only the SHA-256 is stored."""
    unknown = sorted(set(scopes) - set(TokenScope.values))
    if unknown:
        raise ServiceError("invalid_scope", f"Cakupan tidak dikenal: {', '.join(unknown)}.")
    if not name.strip():
        raise ServiceError("invalid", "Nama token wajib diisi.", fields={"name": ["wajib"]})
    secret = ApiToken.PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    with transaction.atomic():
        token = ApiToken(
            user=user,
            name=name.strip(),
            token_hash=ApiToken.hash_secret(secret),
            hint=secret[: len(ApiToken.PREFIX) + 6],
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        token.full_clean()
        token.save()
        if expires_at is not None:
            # At its expiry the gateway is told to close the token's sockets (issue 14, item
            # 6): a deferred task, durable in the database like the other scheduled work.
            transaction.on_commit(lambda: _schedule_expiry(token))
    return token, secret


def _schedule_expiry(token: ApiToken) -> None:
    from accounts.importer import api_token_expired

    api_token_expired.using(run_after=token.expires_at).enqueue(token_id=token.pk)


def authenticate_token(secret: str) -> tuple[User | None, ApiToken | None]:
    """The user and token for a bearer secret, or (None, None) if it is not usable."""
    if not secret or not secret.startswith(ApiToken.PREFIX) or len(secret) > 200:
        return None, None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=ApiToken.hash_secret(secret))
        .first()
    )
    if token is None or not token.is_usable() or not token.user.is_active:
        return None, None
    touch_token(token)
    return token.user, token


#: Touch `last_used_at` at most this often per token (a write per request would be waste).
_LAST_USED_RESOLUTION_SECONDS = 60


def touch_token(token) -> None:
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > (
        _LAST_USED_RESOLUTION_SECONDS
    ):
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
