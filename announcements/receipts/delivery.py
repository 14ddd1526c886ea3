"""Delivered-on-push: the gateway reports each announcement event it sends to a client; this
module batches those reports and writes them once a second.

A province-wide announcement reaches 300,000 connections. One UPDATE per push would be 300,000
writes in a second; instead each server process keeps {event id: {user id}} in memory and a
single flusher writes them a second later through `receipts_mark_pushed` — one UPDATE per
announcement and 500 users, paced (`flush`). The report itself is a dict insert on the event
loop, no I/O.

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
    """Write the batch a part at a time (one UPDATE each), pausing after each part as long as
    it took.

    A fresh announcement's recipients acknowledge while its deliveries are flushed. Written
    at once, the 2,500 receipts a process delivered took PostgreSQL's CPU for ~250 ms, and
    every acknowledgement answered in that stretch waited (paced at 2,000/s: p99 258 ms with
    the flush, 138 ms without it; docs/performance.md). Paced, the flush takes at most half
    of the time while it runs. "Delivered" is a report, not a promise: a 300,000-recipient
    announcement's marks take a few seconds longer to land.
    """
    from announcements.receipts.services import receipts_mark_pushed

    loop = asyncio.get_running_loop()
    for part in parts(batch):
        started = loop.time()
        try:
            await database_sync_to_async(receipts_mark_pushed)(part)
        except Exception:
            logger.warning("delivery of %s event(s) not recorded", len(part), exc_info=True)
        await asyncio.sleep(loop.time() - started)


def parts(batch: dict[int, set[int]]) -> list[dict[int, set[int]]]:
    """The batch in parts of at most one UPDATE each (PUSH_CHUNK users of one event)."""
    from announcements.receipts.services import PUSH_CHUNK

    out = []
    for event_id, user_ids in batch.items():
        ids = sorted(user_ids)
        out += [{event_id: set(ids[start:start + PUSH_CHUNK])}
                for start in range(0, len(ids), PUSH_CHUNK)]
    return out
