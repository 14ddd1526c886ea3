"""Pushing a committed event to its channel-layer groups: the claim (one pusher per
event), the layer message, the send."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models import Q
from django.utils import timezone

from realtime.audience import CONTROL_TYPES

#: A pusher's claim on an event lasts this long; after it, the relay takes the event over.
CLAIM_LEASE = timedelta(seconds=10)


def event_message(event) -> dict[str, Any]:
    """The channel-layer message for an event; the JSON text is serialised once here."""
    text = json.dumps(
        {"id": event.id, "type": event.type, "data": event.data},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    message = {
        "type": "event.push",
        "id": event.id,
        "event": event.type,
        "text": text,
        "audience": event.audience,
    }
    if event.type in CONTROL_TYPES:
        message["data"] = event.data
        message["groups"] = list(event.groups)
    return message


def claim_event(event_id: int) -> bool:
    """Take an unpushed event for pushing; False if it is pushed or another pusher holds it.

    The conditional UPDATE is the claim (as healthchecks claims its outbox rows): of two
    pushers only one sees a row count of 1.
    """
    from realtime.models import Event

    now = timezone.now()
    return bool(
        Event.objects.filter(id=event_id, pushed_at=None)
        .filter(Q(claimed_at=None) | Q(claimed_at__lt=now - CLAIM_LEASE))
        .update(claimed_at=now)
    )


async def _group_send_all(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    for group in groups:
        # Each copy names its group: a gateway process receives every group it serves on one
        # layer channel and hands the event to that group's connections
        # (realtime.dispatch).
        await layer.group_send(group, {**message, "group": group})


_push_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-push")
_push_lock = threading.Lock()


def _send(groups: list[str], message: dict[str, Any]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(_group_send_all)(groups, message)
        return
    # An event loop runs in this very thread (a sync caller inside async code, e.g. a test
    # driving Playwright): async_to_sync refuses that, so the send runs in a helper thread.
    with _push_lock:
        _push_executor.submit(async_to_sync(_group_send_all), groups, message).result()


def push_claimed(event) -> None:
    """Push an event this process has claimed, then mark it pushed; raises if the push fails."""
    from realtime.models import Event

    try:
        _send(list(event.groups), event_message(event))
    except Exception:
        # Release the claim so that the relay need not wait for the lease to run out.
        Event.objects.filter(id=event.id, pushed_at=None).update(claimed_at=None)
        raise
    Event.objects.filter(id=event.id).update(pushed_at=timezone.now())
