"""The relay: re-pushes events that were committed but not pushed (Redis down, a process killed
between commit and push, a push that failed).

It runs in two places, so that no single failure stops it: as a django-tasks task run by the
worker (`manage.py db_worker`), scheduled whenever an after-commit push fails; and as a loop in
every server process (started at ASGI lifespan startup, or with the first WebSocket connection
under daphne, which has no lifespan). Pushers claim each event (`realtime.push.claim_event`), so
any number of relays can run side by side without pushing an event twice.

The in-process loop also prunes the event log (`prune_events`): events older than
EVENT_RETENTION_HOURS are deleted, so that the log a resume reads stays bounded; a cursor from
before what is left gets `resync` (realtime.gateway.events_for_resume).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from channels.db import database_sync_to_async
from django.utils import timezone
from django_tasks import task

from realtime.gateway import EVENT_RETENTION
from realtime.push import claim_event, push_claimed

logger = logging.getLogger(__name__)

#: An event younger than this is left to its after-commit push.
RELAY_DELAY = timedelta(seconds=3)
#: How often the in-process loop looks for unpushed events, in seconds.
RELAY_INTERVAL = 2.0
RELAY_BATCH = 200
#: How often each process's relay loop prunes the event log, in seconds (idempotent: several
#: processes pruning at once delete the same rows once).
PRUNE_INTERVAL = 600.0
#: Rows one DELETE removes: short statements, no long lock on the table.
PRUNE_BATCH = 5000


def relay_pending(*, older_than: timedelta = RELAY_DELAY, limit: int = RELAY_BATCH) -> int:
    """Push unpushed events older than `older_than`, in id order; returns how many it pushed.

    Stops at the first failed push: the layer is down, the next run will try again.
    """
    from realtime.models import Event

    cutoff = timezone.now() - older_than
    events = list(
        Event.objects.filter(pushed_at=None, created_at__lt=cutoff).order_by("id")[:limit]
    )
    pushed = 0
    for event in events:
        if not claim_event(event.id):
            continue
        try:
            push_claimed(event)
        except Exception as exc:
            logger.warning("relay: push of event %s failed (%s); retrying later", event.id, exc)
            break
        pushed += 1
    if pushed:
        logger.info("relay: pushed %s event(s)", pushed)
    return pushed


def prune_events(*, batch: int = PRUNE_BATCH) -> int:
    """Delete the events older than the retention window; returns how many.

    The newest of those old events is kept: once anything was pruned, the oldest row left is
    older than the window, which is how a resume knows that a cursor below it may have missed
    deleted events (realtime.gateway._cursor_predates_log) without any state of its own.
    """
    from realtime.models import Event

    cutoff = timezone.now() - EVENT_RETENTION
    boundary = (
        Event.objects.filter(created_at__lt=cutoff).order_by("-id").values_list("id", flat=True)
        .first()
    )
    if boundary is None:
        return 0
    deleted = 0
    while True:
        edge = list(
            Event.objects.filter(id__lt=boundary).order_by("id")
            .values_list("id", flat=True)[batch : batch + 1]
        )
        upper = edge[0] if edge else boundary
        count, _ = Event.objects.filter(id__lt=upper).delete()
        deleted += count
        if upper == boundary:
            break
    if deleted:
        logger.info("relay: pruned %s event(s) older than %s", deleted, EVENT_RETENTION)
    return deleted


def unpushed_count() -> int:
    from realtime.models import Event

    return Event.objects.filter(pushed_at=None).count()


_last_scheduled = 0.0


def schedule_relay() -> None:
    """Ask the task worker to run the relay soon (at most once per RELAY_DELAY per process)."""
    global _last_scheduled
    now = time.monotonic()
    if now - _last_scheduled < RELAY_DELAY.total_seconds():
        return
    _last_scheduled = now
    try:
        relay_events.using(run_after=timezone.now() + RELAY_DELAY).enqueue()
    except Exception:
        # The in-process relay loops still cover this event.
        logger.warning("could not schedule the relay task", exc_info=True)


_loop_task: asyncio.Task | None = None


async def _relay_loop() -> None:
    prune_due = time.monotonic()  # the first pass prunes: a process may not live long
    while True:
        await asyncio.sleep(RELAY_INTERVAL)
        try:
            await database_sync_to_async(relay_pending)()
        except Exception:
            logger.warning("relay loop: run failed", exc_info=True)
        if time.monotonic() >= prune_due:
            prune_due = time.monotonic() + PRUNE_INTERVAL
            try:
                await database_sync_to_async(prune_events)()
            except Exception:
                logger.warning("relay loop: pruning the event log failed", exc_info=True)


def ensure_relay_loop() -> None:
    """Start this process's relay loop in the running event loop, once."""
    global _loop_task
    if _loop_task is not None and not _loop_task.done():
        return
    _loop_task = asyncio.get_running_loop().create_task(_relay_loop(), name="comms-relay")


async def stop_relay_loop() -> None:
    global _loop_task
    if _loop_task is not None:
        _loop_task.cancel()
        try:
            await _loop_task
        except asyncio.CancelledError:
            pass
        _loop_task = None


@task()
def relay_events() -> int:
    """Re-push unpushed events; while some remain (Redis still down), run again shortly."""
    pushed = relay_pending()
    if unpushed_count():
        relay_events.using(run_after=timezone.now() + RELAY_DELAY).enqueue()
    return pushed


def push_event(event) -> bool:
    """Push one committed event to its groups and mark it pushed (the after-commit push).

    Returns False when another pusher holds or has pushed the event, or when the push failed
    (Redis down …): the event then stays unpushed and the relay retries it.
    """
    if not claim_event(event.id):
        return False
    try:
        push_claimed(event)
    except Exception:
        logger.warning("push of event %s failed; the relay will retry", event.id, exc_info=True)
        schedule_relay()
        return False
    return True
