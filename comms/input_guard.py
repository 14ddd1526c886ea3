"""Input no part of the platform can store or decode, refused at the door (issue 14 items 20, 24).

- A NUL character (U+0000) in any string a client sends: PostgreSQL text cannot hold it, and
  every query or write with one failed with a 500 (`DataError`) — 21 places, two of them
  anonymous. `InputGuardMiddleware` looks at the path (so path parameters too), the query
  string, cookies, headers, form fields and JSON strings of every HTTP request (Django already
  drops unprintable characters from upload names); the WebSocket gateway calls `json_has_nul()`
  on each frame.
- A form body Django cannot decode: `application/x-www-form-urlencoded` declaring a charset
  other than UTF-8 (Django raises BadRequest from its CSRF check, and again from its own error
  page: a 500), and multipart without a usable boundary.

The answer is a 400: under /api/ the API's JSON error (`invalid_characters`, `invalid_body`),
elsewhere a small localized page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

NUL = "\x00"
#: JSON can carry a NUL only as this escape (a raw control character is not valid JSON).
_NUL_ESCAPE = "\\u0000"
API_PREFIX = "/api/"
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def contains_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a NUL in any string, key or nested item.

    Iterative, so that a deeply nested value cannot exhaust the interpreter's stack here.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def json_has_nul(raw: str | bytes, value: Any) -> bool:
    """Whether the JSON text `raw`, already decoded to `value`, holds a NUL anywhere.

    Texts without the escape are answered without walking the value (the common case).
    """
    marker: str | bytes = _NUL_ESCAPE.encode() if isinstance(raw, bytes) else _NUL_ESCAPE
    return marker in raw and contains_nul(value)


def nul_message() -> str:
    return _("Masukan berisi karakter NUL (U+0000), yang tidak diizinkan.")


def _any_nul(pairs) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in pairs)


def _refusal(request: HttpRequest) -> tuple[str, str] | None:
    """(code, message) of the first reason to refuse the request, or None."""
    if NUL in request.path_info or _any_nul(request.GET.lists()):
        return "invalid_characters", nul_message()
    if any(NUL in key or NUL in value for key, value in request.COOKIES.items()):
        return "invalid_characters", nul_message()
    if any(NUL in str(value) for key, value in request.META.items() if key.startswith("HTTP_")):
        return "invalid_characters", nul_message()
    content_type = request.content_type or ""
    if request.method == "POST" and content_type in _FORM_TYPES:
        try:
            fields = request.POST
        except (BadRequest, MultiPartParserError):
            return "invalid_body", _(
                "Isi formulir tidak dapat dibaca: kirim sebagai UTF-8, dan multipart dengan "
                "boundary yang sah."
            )
        if _any_nul(fields.lists()) or any(NUL in key for key in request.FILES):
            return "invalid_characters", nul_message()
    elif content_type == "application/json":
        body = request.body
        if _NUL_ESCAPE.encode() in body:
            try:
                value = json.loads(body)
            except (ValueError, RecursionError):
                return None  # not JSON at all: the API's parser answers invalid_json
            if contains_nul(value):
                return "invalid_characters", nul_message()
    return None


def _response(request: HttpRequest, code: str, message: str) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"error": {"code": code, "message": message, "fields": {}}},
                            status=400)
    # Rendered without the request: nothing of a request that is being refused (its session,
    # its user) is looked at.
    html = render_to_string("errors/bad_request.html",
                            {"code": code, "message": message, "LANGUAGE_CODE": get_language()})
    return HttpResponse(html, status=400)


class InputGuardMiddleware:
    """Refuse NUL characters and undecodable form bodies before any view or session lookup."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = _refusal(request)
        if refusal is not None:
            return _response(request, *refusal)
        return self.get_response(request)
