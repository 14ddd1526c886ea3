"""The JSON API at /api/v1/: one NinjaAPI, authentication, and consistent JSON errors.

Apps add their routers in `comms.urls` (accounts, announcements, channels_app …). Every error is
`{"error": {"code": "...", "message": "...", "fields": {...}}}` — also the ones Django answers
before or around ninja (the URL resolver's 404, the 405, a 500): `api_errors_as_json`.

OpenAPI: every operation declares a typed 2xx schema and its error statuses (`errors(...)`), so
that a schema check of the running API (tests/comms/test_schemathesis.py) means something.
JSON bodies are strict (`StrictInt`, `StrictBool`, `JsonDateTime`): `true` is not a version
number and `"3"` is not a number; query parameters arrive as strings and stay lax.

Authentication: a personal API token (`Authorization: Bearer cmt_…`) or the browser session.
A session's unsafe requests must carry Django's CSRF token (`X-CSRFToken`), and a request body is
read only when it is declared `application/json` (files: `multipart/form-data`): a page on
another site can send neither a custom header nor that type without a CORS preflight, which
this API never grants. `require_scope()` enforces a token's scopes; a session acts with full
scope (the person is at the keyboard; MFA rules still apply in the services).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils.decorators import sync_and_async_middleware
from django.utils.log import log_response
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from accounts.api_auth import BearerTokenAuth, CsrfFailed, InvalidToken, SessionAuth
from common.errors import ServiceError


def _unsupported_media_type() -> ServiceError:
    return ServiceError(
        "unsupported_media_type",
        _("Badan permintaan harus berjenis application/json."),
        status=415,
    )


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
        loc = [str(part) for part in error.get("loc", [])]
        # ("body", "payload", "title") names the field "title"; only that prefix goes, so
        # that a field that is itself called `body` keeps its name.
        if loc[:1] == ["body"]:
            loc = loc[2:] if loc[1:2] == ["payload"] else loc[1:]
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


#: Errors of the request itself that Django answers with 400 (and logs, SuspiciousOperation to
#: the security logger): a multipart body without a boundary, too many fields, a bad host …
_DJANGO_BAD_REQUESTS = (BadRequest, MultiPartParserError, SuspiciousOperation)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Anything unhandled: logged with its traceback, answered without it (also in DEBUG)."""
    if isinstance(exc, _DJANGO_BAD_REQUESTS):
        raise exc  # Django's 400, made JSON by api_errors_as_json
    if isinstance(exc, OverflowError):
        # SQLite (make run) cannot bind an integer beyond 64 bits, which PostgreSQL's lookups
        # answer with "nothing": an id that large names nothing here either.
        return error_response(request, 404, "not_found", _("Tidak ditemukan."))
    response = error_response(request, 500, "server_error", _("Terjadi kesalahan; coba lagi."))
    log_response("Internal Server Error: %s", request.path, response=response, request=request,
                 exception=exc)
    return response


_PREFIX = "/api/v1/"


def _status_error(status: int) -> tuple[str, str]:
    return {
        400: ("bad_request", _("Permintaan tidak valid.")),
        403: ("forbidden", _("Tidak diizinkan.")),
        404: ("not_found", _("Tidak ditemukan.")),
        405: ("method_not_allowed", _("Metode tidak diizinkan.")),
        413: ("too_large", _("Permintaan terlalu besar.")),
        500: ("server_error", _("Terjadi kesalahan; coba lagi.")),
    }.get(status, (f"http_{status}", _("Permintaan tidak dapat diproses.")))


def _as_json_error(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """An error answered outside ninja's handlers (the URL resolver's 404 for
    `/api/v1/announcements/abc`, ninja's own 405, Django's 400 and 500 pages) in the API's
    error format: a client never has to parse an HTML page."""
    if (
        response.status_code < 400
        or not request.path_info.startswith(_PREFIX)
        or response.streaming
        or response.get("Content-Type", "").startswith("application/json")
    ):
        return response
    code, message = _status_error(response.status_code)
    json_response = error_response(request, response.status_code, code, message)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            json_response[header] = response[header]
    # Already logged (or not worth logging) where the original response was made.
    json_response._has_been_logged = getattr(  # type: ignore[attr-defined]
        response, "_has_been_logged", False)
    return json_response


@sync_and_async_middleware
def api_errors_as_json(
    get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
) -> Callable[..., Any]:
    """Middleware (comms.settings): JSON errors for every error under /api/v1/.

    Sync and async alike, without a thread hop: it only looks at the response."""
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponseBase:
            return _as_json_error(request, await get_response(request))  # type: ignore[misc]

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponseBase:
        return _as_json_error(request, get_response(request))  # type: ignore[arg-type]

    return middleware
