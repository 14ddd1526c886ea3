"""The client's address: the one place that decides it (rate limits, audit rows, allauth).

`REMOTE_ADDR` is the peer that opened the TCP connection. Behind a reverse proxy that peer is
the proxy, and the client's address is in `X-Forwarded-For` — a header the client can also
send, so only the entries added by proxies we run may be believed. `TRUSTED_PROXY_COUNT`
(docs/deployment.md) says how many there are:

- 0 (the default): no proxy is trusted; `X-Forwarded-For` is ignored and `REMOTE_ADDR` is the
  client.
- N: each of our N proxies appended the address it saw (nginx overwriting the header with
  `$remote_addr` counts as the first), so the N-th entry from the right was written by our
  outermost proxy; everything left of it is whatever the client sent.

A header with fewer entries than N did not come through all our proxies (or a proxy is
misconfigured): it is ignored, as is an entry that is not an IP address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as far as our own proxies vouch for it, or None if unknown."""
    remote = _valid(request.META.get("REMOTE_ADDR"))
    trusted = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if trusted <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < trusted:
        return remote
    return _valid(forwarded[-trusted]) or remote
