"""WebSocket authentication by bearer token (handed to the gateway by comms.asgi)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from accounts.tokens import authenticate_token
from realtime.auth import bearer_secret


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
            user, token = await database_sync_to_async(authenticate_token)(secret)
            scope = dict(scope, user=user or AnonymousUser(), auth_token=token)
        return await self.application(scope, receive, send)
