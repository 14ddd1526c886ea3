"""The JSON API at /api/v1/: one NinjaAPI, authentication, and consistent JSON errors.

Apps add their routers in `comms.urls` (accounts, announcements, channels_app …). Every error is
`{"error": {"code": "...", "message": "...", "fields": {...}}}`.

Authentication: a personal API token (`Authorization: Bearer cmt_…`) or the browser session.
A session's unsafe requests must carry Django's CSRF token (`X-CSRFToken`), and a request body is
read only when it is declared `application/json` (files: `multipart/form-data`): a page on
another site can send neither a custom header nor that type without a CORS preflight, which
this API never grants. `require_scope()` enforces a token's scopes; a session acts with full
scope (the person is at the keyboard; MFA rules still apply in the services).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from comms.errors import ServiceError

#: Touch `last_used_at` at most this often per token (a write per request would be waste).
_LAST_USED_RESOLUTION_SECONDS = 60


class InvalidToken(AuthenticationError):
    pass


class CsrfFailed(Exception):
    pass


def _unsupported_media_type() -> ServiceError:
    return ServiceError(
        "unsupported_media_type",
        _("Badan permintaan harus berjenis application/json."),
        status=415,
    )


class BearerTokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # ninja's HttpBearer logs a header of another scheme in full under DEBUG ("Unexpected
        # auth - 'Token cmt_…'"): a credential in the log. Another scheme is simply not ours.
        scheme, _sep, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from accounts.tokens import authenticate_token

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


class JsonParser(Parser):
    """Request bodies: JSON declared as such, and never the parser's own words to the client."""

    def parse_body(self, request: HttpRequest) -> Any:
        # ninja's own parser reads any body as JSON, text/plain too: the type a cross-site
        # form or no-cors fetch may send without a preflight.
        if request.content_type != "application/json":
            raise _unsupported_media_type()
        try:
            return json.loads(request.body)
        except (ValueError, RecursionError):
            raise ServiceError("invalid_json", _("Badan permintaan bukan JSON yang sah."),
                               status=400) from None


api = NinjaAPI(
    title="comms API",
    version="1",
    description="Komunikasi resmi Pemprov Jawa Tengah — JSON API. Errors: "
    '{"error": {"code", "message", "fields"}}.',
    auth=[BearerTokenAuth(), SessionAuth(csrf=True)],
    parser=JsonParser(),
    urls_namespace="api",
    docs_url="/docs",
    # Served from our static files ("ninja" in INSTALLED_APPS); no validator badge, which
    # would send the schema's address to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
    )


def require_scope(request: HttpRequest, scope: str) -> None:
    """Refuse a token that lacks `scope` (403 insufficient_scope); sessions pass."""
    token = getattr(request, "api_token", None)
    if token is not None and not token.has_scope(scope):
        raise ServiceError(
            "insufficient_scope",
            f"Token ini tidak memiliki cakupan '{scope}'.",
            status=403,
        )


def touch_token(token) -> None:
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > (
        _LAST_USED_RESOLUTION_SECONDS
    ):
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(InvalidToken)
def _invalid_token(request: HttpRequest, exc: InvalidToken) -> HttpResponse:
    return error_response(
        request, 401, "invalid_token", "Token tidak valid, kedaluwarsa, atau telah dicabut."
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthenticated", "Autentikasi diperlukan.")


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", []) if part not in ("body", "payload")]
        fields.setdefault(".".join(loc) or "__all__", []).append(error.get("msg", "invalid"))
    return error_response(request, 422, "invalid_input", "Masukan tidak valid.", fields)


@api.exception_handler(DjangoValidationError)
def _django_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return error_response(request, 400, "invalid", "Masukan tidak valid.", fields)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "Tidak ditemukan.")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(request, 403, "forbidden", str(exc) or "Tidak diizinkan.")


@api.exception_handler(CsrfFailed)
def _csrf_failed(request: HttpRequest, exc: CsrfFailed) -> HttpResponse:
    return error_response(
        request, 403, "csrf_failed",
        _("Token CSRF tidak ada atau tidak sah. Muat ulang halaman lalu coba lagi."),
    )


@api.exception_handler(RawPostDataException)
def _form_body_for_json(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
    # A multipart body was parsed as a form (for its files) and the operation wanted JSON.
    return _service_error(request, _unsupported_media_type())


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps what the body parser raised; its text (a JSON decoder's message, "maximum
    # recursion depth exceeded") is never shown, only our code and message.
    if isinstance(exc.__cause__, ServiceError):
        return _service_error(request, exc.__cause__)
    return error_response(request, exc.status_code, f"http_{exc.status_code}",
                          _("Permintaan tidak dapat diproses."))
