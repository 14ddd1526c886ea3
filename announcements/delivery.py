"""Delivered-on-push: the gateway reports each announcement event it sends to a client; this
module batches those reports and writes them once a second.

A province-wide announcement reaches 300,000 connections. One UPDATE per push would be 300,000
writes in a second; instead each server process keeps {event id: {user id}} in memory and a
single flusher writes them through `receipts_mark_pushed` — one UPDATE per announcement (and per
500 users) per second. The report itself is a dict insert on the event loop, no I/O.

What a process holds when it is killed is lost; those recipients become "delivered" when they
open the inbox or the API list (fetch counts as delivery), which is what the state means.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from channels.db import database_sync_to_async

logger = logging.getLogger(__name__)

#: Seconds a report waits before it is written (the batching window).
FLUSH_INTERVAL = 1.0

_pending: dict[int, set[int]] = defaultdict(set)
_flusher: asyncio.Task | None = None


def observe(kind: str, event_id: int, user_id: int) -> None:
    """Called by the gateway on the event loop after it sent an announcement event."""
    global _flusher
    _pending[event_id].add(user_id)
    if _flusher is None or _flusher.done():
        _flusher = asyncio.get_running_loop().create_task(_flush_loop(), name="receipt-delivery")


def take() -> dict[int, set[int]]:
    global _pending
    batch, _pending = _pending, defaultdict(set)
    return dict(batch)


async def _flush_loop() -> None:
    # Runs while there is something to write, then ends; the next report starts it again.
    while True:
        await asyncio.sleep(FLUSH_INTERVAL)
        batch = take()
        if not batch:
            return
        await flush(batch)


async def flush(batch: dict[int, set[int]]) -> None:
    from announcements.receipts import receipts_mark_pushed

    try:
        await database_sync_to_async(receipts_mark_pushed)(batch)
    except Exception:
        logger.warning("delivery of %s event(s) not recorded", len(batch), exc_info=True)
