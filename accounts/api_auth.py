"""Authentication of the JSON API: personal API tokens (`Authorization: Bearer cmt_…`)
or the browser session (with CSRF), and the token scopes (`require_scope`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts.tokens import authenticate_token
from common.errors import ServiceError


class InvalidToken(AuthenticationError):
    pass


class CsrfFailed(Exception):
    pass


class BearerTokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # ninja's HttpBearer logs a header of another scheme in full under DEBUG ("Unexpected
        # auth - 'Token cmt_…'"): a credential in the log. Another scheme is simply not ours.
        scheme, _sep, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user, api_token = authenticate_token(token)
        if user is None:
            # A bearer header that does not authenticate is an error, never "try the session".
            raise InvalidToken()
        request.user = user
        request.api_token = api_token  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """The browser session, with Django's CSRF check for unsafe methods."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        # ninja's APIKeyCookie runs its CSRF check in this method; it runs in authenticate()
        # instead, once a session has actually authenticated someone, so that an anonymous
        # request still gets 401, not a CSRF refusal.
        return request.COOKIES.get(settings.SESSION_COOKIE_NAME)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return None
        # Safe methods pass Django's check; unsafe ones need the token of this session.
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            if check_csrf(request) is not None:
                raise CsrfFailed()
        request.api_token = None  # type: ignore[attr-defined]
        return user


def require_scope(request: HttpRequest, scope: str) -> None:
    """Refuse a token that lacks `scope` (403 insufficient_scope); sessions pass."""
    token = getattr(request, "api_token", None)
    if token is not None and not token.has_scope(scope):
        raise ServiceError(
            "insufficient_scope",
            f"Token ini tidak memiliki cakupan '{scope}'.",
            status=403,
        )
