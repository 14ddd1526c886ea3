"""Group commit of WebSocket acknowledgements (docs/acknowledgement.md § Under load).

5,000 recipients confirming the governor's directive within seconds send 5,000 `ack` frames.
Run one by one, each is a transaction of its own on the one database thread of the process
(`database_sync_to_async`): ~180 per second per process whatever the hardware, and the last
frame answered half a minute late (docs/performance.md, finding 9). Instead, each frame's
handler queues its request here and awaits a future; one flusher task per event loop collects
the requests of a short window (`ACK_BATCH_WINDOW_MS`, or `MAX_BATCH` of them), applies them in
one `receipts_acknowledge_many` call — one transaction, a fixed number of queries, one throttled
summary per announcement — and resolves every future with its own outcome.

The database is still the truth: a frame is answered `acked` only after its batch committed. A
refusal is one request's own outcome and never fails the others; a database error fails the
whole batch (nothing of it was written) and every waiting frame gets an `internal` error frame.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import OperationalError
from django.utils.translation import gettext as _

from announcements.receipts.services import AckRequest, AckResult, receipts_acknowledge_many
from common.errors import ServiceError

logger = logging.getLogger(__name__)

#: Requests applied in one transaction at most (one IN list of receipts per announcement).
MAX_BATCH = 500
#: Attempts of a batch that lost a deadlock or serialisation race to another writer of the same
#: receipts (two server processes, the delivery flush): PostgreSQL rolled it back whole.
ATTEMPTS = 3
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def _window() -> float:
    """Seconds the oldest queued request waits for others before its batch is written."""
    return settings.ACK_BATCH_WINDOW_MS / 1000


@dataclass
class _Waiting:
    request: AckRequest
    future: asyncio.Future[AckResult | ServiceError]
    queued_at: float


@dataclass
class AckBatcher:
    """The queue and flusher of one event loop (a server process has one)."""

    loop: asyncio.AbstractEventLoop
    queue: list[_Waiting] = field(default_factory=list)
    full: asyncio.Event = field(default_factory=asyncio.Event)
    flusher: asyncio.Task | None = None

    async def acknowledge(self, request: AckRequest) -> AckResult:
        """Queue one acknowledgement and wait for its batch; raises its refusal."""
        waiting = _Waiting(request, self.loop.create_future(), self.loop.time())
        self.queue.append(waiting)
        if len(self.queue) >= MAX_BATCH:
            self.full.set()
        if self.flusher is None or self.flusher.done():
            self.flusher = self.loop.create_task(self._run(), name="ack-batch")
        # If this frame's connection goes away meanwhile, its request is written all the same.
        outcome = await waiting.future
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    async def _run(self) -> None:
        # Runs while requests are queued, then ends; the next request starts it again.
        while self.queue:
            # The window runs from the oldest request's arrival: under load, requests that
            # queued while the previous batch was written go at once, in the next batch.
            remaining = self.queue[0].queued_at + _window() - self.loop.time()
            if remaining > 0 and len(self.queue) < MAX_BATCH:
                try:
                    await asyncio.wait_for(self.full.wait(), remaining)
                except TimeoutError:
                    pass
            self.full.clear()
            batch = self.queue[:MAX_BATCH]
            del self.queue[:MAX_BATCH]
            await self._flush(batch)

    async def _flush(self, batch: list[_Waiting]) -> None:
        try:
            # Not on the process's shared database thread (thread_sensitive=False): there it
            # would queue behind page and API requests — the issuer's dashboard polling its
            # summary among them — and they behind it. One flusher per loop: one thread at a time.
            outcomes = await database_sync_to_async(apply_batch, thread_sensitive=False)(
                [w.request for w in batch])
        except Exception:
            logger.exception("a batch of %s acknowledgement(s) failed", len(batch))
            outcomes = [ServiceError("internal", _("Terjadi kesalahan; coba lagi."), status=500)
                        for _waiting in batch]
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if not waiting.future.done():
                waiting.future.set_result(outcome)


def apply_batch(requests: list[AckRequest]) -> list[AckResult | ServiceError]:
    """`receipts_acknowledge_many`, run again when PostgreSQL chose it as a deadlock victim."""
    attempt = 1
    while True:
        try:
            return receipts_acknowledge_many(requests)
        except OperationalError as exc:
            sqlstate = getattr(exc.__cause__, "sqlstate", None)
            if attempt >= ATTEMPTS or sqlstate not in _RETRYABLE_SQLSTATES:
                raise
            logger.info("acknowledgement batch retried after %s", exc)
            attempt += 1


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AckBatcher] = (
    weakref.WeakKeyDictionary()
)


def batcher() -> AckBatcher:
    """The batcher of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        found = _batchers[loop] = AckBatcher(loop)
    return found


async def acknowledge(request: AckRequest) -> AckResult:
    """What the WebSocket `ack` frame calls: `receipts_acknowledge_many` by group commit."""
    return await batcher().acknowledge(request)
