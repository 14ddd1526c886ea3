"""The one door to the channel layer.

Service functions call `emit()` inside their transaction: it writes the event row and pushes the
event after commit. Nothing else in the project sends to the channel layer (except the relay,
which re-pushes unpushed rows through `push_event`).

Audience format (stored on the event, checked in memory by the consumer and on resume):
- None: every connection subscribed to one of the event's groups may see it;
- {"users": [id, …]}: only these users;
- {"units": [code, …], "subunits": bool, "roles": [role, …]}: users with a membership (or home
  unit) in one of these units — or below them when "subunits" — and, when "roles" is non-empty,
  holding one of those roles there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that orders event ids by commit (see emit()).
EVENT_LOCK_KEY = 0x636F6D6D73  # "comms"


@dataclass(frozen=True)
class Viewer:
    """What a connection knows about its user, held in memory for event filtering."""

    user_id: int
    #: (unit code, role) pairs; the home unit appears with role "member".
    memberships: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def audience_allows(audience: dict[str, Any] | None, viewer: Viewer) -> bool:
    if audience is None:
        return True
    users = audience.get("users")
    if users is not None and viewer.user_id in users:
        return True
    units = audience.get("units")
    if not units:
        return False
    subunits = bool(audience.get("subunits"))
    roles = audience.get("roles") or ()
    for code, role in viewer.memberships:
        if roles and role not in roles:
            continue
        for target in units:
            if code == target or (subunits and code.startswith(target + ".")):
                return True
    return False


def emit(
    *,
    type: str,
    data: dict[str, Any],
    groups: list[str],
    audience: dict[str, Any] | None = None,
):
    """Record an event in the current transaction and push it after commit.

    Call it last in the transaction: on PostgreSQL it takes a transaction-level advisory lock so
    that event ids become visible in id order (a client resuming "after 101" must never miss a
    100 that committed later). The lock is held only from here to commit.
    """
    from channels_app.models import Event

    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOCK_KEY])
    event = Event.objects.create(type=type, data=data, groups=groups, audience=audience)
    transaction.on_commit(lambda: push_event(event))
    return event


def event_message(event) -> dict[str, Any]:
    """The channel-layer message for an event; the JSON text is serialised once here."""
    text = json.dumps(
        {"id": event.id, "type": event.type, "data": event.data}, separators=(",", ":")
    )
    return {"type": "event.push", "id": event.id, "text": text, "audience": event.audience}


def push_event(event) -> bool:
    """Push one committed event to its groups; mark it pushed. Failures are left to the relay."""
    from channels_app.models import Event

    layer = get_channel_layer()
    message = event_message(event)
    try:
        for group in event.groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        # Redis down or the like: the event stays unpushed and the relay retries it.
        logger.warning("push of event %s failed; the relay will retry", event.id, exc_info=True)
        return False
    Event.objects.filter(id=event.id, pushed_at=None).update(pushed_at=timezone.now())
    return True
