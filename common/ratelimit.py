"""The project's one rate limit: a fixed-window counter per key in Django's cache.

The cache is Redis when `REDIS_URL` is set, so every server process counts in the same place;
without it (make run) the counter is per process, which is what a single process needs.
A rate is `(count, seconds)`: at most `count` attempts in each window of `seconds`
(settings parse it from "COUNT/SECONDS" with comms.env.env_rate).

Services call `enforce` before they write, so that the page, the JSON API and the WebSocket
share one limit; the refusal is the usual ServiceError, code `rate_limited`, status 429.
"""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

from common.errors import ServiceError

Rate = tuple[int, int]


def hit(scope: str, ident: object, rate: Rate) -> bool:
    """Count one attempt of `ident` (a user id, a client address) in `scope`; False when it is
    over the limit of the current window."""
    count, seconds = rate
    window = int(timezone.now().timestamp()) // seconds
    key = f"ratelimit:{scope}:{ident}:{window}"
    # add() then incr(): atomic on Redis, so concurrent requests never both see "first".
    cache.add(key, 0, timeout=seconds + 5)
    try:
        used = cache.incr(key)
    except ValueError:  # the key expired or was evicted between add and incr
        cache.set(key, 1, timeout=seconds + 5)
        used = 1
    return used <= count


def enforce(scope: str, ident: object, rate: Rate, message: str) -> None:
    """Refuse (429 `rate_limited`, with `message`) an attempt over the limit."""
    if not hit(scope, ident, rate):
        raise ServiceError("rate_limited", message, status=429)
