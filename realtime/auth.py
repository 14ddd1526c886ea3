"""Handshake checks of the WebSocket gateway: bearer tokens and origins.

Browsers always send an Origin header on a WebSocket handshake and cannot add an Authorization
header, so: a handshake with an Origin must come from one of our origins (a page of another
site would otherwise open a socket with the user's cookies); a handshake without an Origin is
accepted only with a bearer token (an API client, which no other site can drive).

Our origins are compared whole — scheme, host and port, as browsers define "same origin":
another port or plain http on the same host is another site (Channels' own validator compared
host names only). Allowed: the origin of SITE_URL, the entries of CSRF_TRUSTED_ORIGINS (with
Django's `https://*.example.com` wildcards), and the handshake's own origin (its scheme and
Host header, the host one of ALLOWED_HOSTS) — what Django's CSRF check accepts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def normalise_origin(value: str) -> str | None:
    """`scheme://host[:port]` in lower case without a default port (how browsers serialise an
    Origin), or None for anything that is not a plain http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def _own_origin(scope: dict[str, Any]) -> str | None:
    """The handshake's own origin: its scheme and Host header, if the host is one of ours."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # as Django's get_host()
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return normalise_origin(f"{scheme}://{host}")


def origin_allowed(origin: str, scope: dict[str, Any]) -> bool:
    candidate = normalise_origin(origin)
    if candidate is None:
        return False  # "null" (a sandboxed frame, a file), or not an origin at all
    exact = {normalise_origin(settings.SITE_URL), _own_origin(scope)}
    wildcards: list[tuple[str, str]] = []
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" in trusted:
            parts = urlsplit(trusted)
            wildcards.append((parts.scheme.lower(), parts.netloc.lower().lstrip("*")))
        else:
            exact.add(normalise_origin(trusted))
    exact.discard(None)
    if candidate in exact:
        return True
    scheme, _, netloc = candidate.partition("://")
    return any(scheme == allowed_scheme and is_same_domain(netloc, pattern)
               for allowed_scheme, pattern in wildcards)


class GatewayOriginValidator:
    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is None:
            allowed = bool(bearer_secret(scope))
        else:
            allowed = origin_allowed(origin, scope)
        if not allowed:
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
