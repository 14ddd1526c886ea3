"""Handshake checks of the WebSocket gateway: bearer tokens and origins.

Browsers always send an Origin header on a WebSocket handshake and cannot add an Authorization
header, so: a handshake with an Origin must come from one of our hosts (a page of another site
would otherwise open a socket with the user's cookies); a handshake without an Origin is
accepted only with a bearer token (an API client, which no other site can drive).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def bearer_secret(scope: dict[str, Any]) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, secret = value.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return secret.strip()


class GatewayOriginValidator:
    def __init__(self, application) -> None:
        self.application = application
        self.checked = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        if _header(scope, b"origin") is None and bearer_secret(scope):
            return await self.application(scope, receive, send)
        return await self.checked(scope, receive, send)


class BearerTokenMiddleware:
    """Authenticate by `Authorization: Bearer <token>`; without the header, the session counts.

    A present but unusable token means anonymous (refused by the consumer), never a fallback to
    the session cookie.
    """

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        secret = bearer_secret(scope)
        if secret is not None:
            from accounts.tokens import authenticate_token

            user, token = await database_sync_to_async(authenticate_token)(secret)
            scope = dict(scope, user=user or AnonymousUser(), auth_token=token)
        return await self.application(scope, receive, send)
