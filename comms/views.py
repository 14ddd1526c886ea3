"""Project-level views: the home page and the health check."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_channel_layer() -> str | None:
    """Round-trip one message through the channel layer (Redis in production)."""
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"

    async def round_trip() -> None:
        channel = await layer.new_channel()
        try:
            token = uuid.uuid4().hex
            await layer.send(channel, {"type": "health.ping", "token": token})
            message = await layer.receive(channel)
            if message.get("token") != token:
                raise RuntimeError("channel layer returned a different message")
        finally:
            await _forget_channel(channel)

    async def _forget_channel(channel: str) -> None:
        # The pub/sub layer subscribes in Redis for every new channel and unsubscribes only
        # when a receive() on it is cancelled (how a consumer ends): one receive left waiting
        # and cancelled here, or every check leaves a subscription open for good.
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        waiting.cancel()
        # Redis failing right now: the round trip reports that, not this clean-up.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await waiting

    try:
        async_to_sync(asyncio.wait_for)(round_trip(), timeout=3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    checks = {"database": _check_database(), "channel_layer": _check_channel_layer()}
    failed = [name for name, error in checks.items() if error]
    body = {
        "status": "ok" if not failed else "error",
        "checks": {
            name: {"ok": error is None, **({"error": error} if error else {})}
            for name, error in checks.items()
        },
        "failed": failed,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return JsonResponse(body, status=503 if failed else 200)
