"""The one door to the channel layer.

Service functions call `emit()` inside their transaction: it writes the event row and pushes the
event after commit. Nothing else in the project sends events to the channel layer (except the
relay, `channels_app.relay`, which re-pushes unpushed rows through `push_event`).

Audience format (stored on the event, checked in memory by the consumer and on resume):
- None: every connection subscribed to one of the event's groups may see it;
- {"users": [id, …]}: only these users;
- {"units": [code, …], "subunits": bool, "roles": [role, …]}: users with a membership (or home
  unit) in one of these units — or below them when "subunits" — and, when "roles" is non-empty,
  holding one of those roles there.

Control events (`CONTROL_TYPES`) steer the gateway (re-subscribe, forced close); they are stored
and pushed like the others but never forwarded to clients. See docs/realtime.md. Services that
end credentials (a password change or reset, a revoked API token) call
`emit_credentials_revoked()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that orders event ids by commit (see emit()).
EVENT_LOCK_KEY = 0x636F6D6D73  # "comms"
#: A pusher's claim on an event lasts this long; after it, the relay takes the event over.
CLAIM_LEASE = timedelta(seconds=10)
#: Event types that steer the gateway and are not forwarded to clients.
SUBSCRIPTION_CHANGED = "subscription.changed"
SESSION_ENDED = "session.ended"
CONTROL_TYPES = frozenset({SUBSCRIPTION_CHANGED, SESSION_ENDED})
#: What the channel layers accept as a group name (channels.layers.BaseChannelLayer).
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,99}$")


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

    Call it last in the transaction. On PostgreSQL it takes a transaction-level advisory lock
    before the id is allocated, held until commit: so a transaction that allocates a larger id
    commits after every smaller one (a client resuming "after 101" never misses a 100 that
    committed later). On SQLite, writers are serialised by the database (IMMEDIATE
    transactions), which gives the same order. Outside a transaction, emit() opens its own.
    """
    from channels_app.models import Event

    # A group name the layer would refuse must fail here, in the service, rather than leave
    # an event that no push and no relay run could ever deliver.
    bad = [group for group in groups if not _GROUP_NAME.match(group)]
    if bad or not groups:
        raise ValueError(f"invalid event groups: {groups!r}")
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_LOCK_KEY])
        event = Event.objects.create(type=type, data=data, groups=groups, audience=audience)
    transaction.on_commit(lambda: _push_now_or_later(event))
    return event


def emit_credentials_revoked(
    *, user_id: int, session_hashes: Iterable[str] = (), token_ids: Iterable[int] = ()
) -> list:
    """Close the user's WebSockets opened with these sessions or API tokens (close code 4401).

    One `session.ended` event per session, `{"session": <hash>, "token": null}`, and per token,
    `{"session": null, "token": <id>}`, recorded in the caller's transaction and pushed after
    its commit. Call it from the service that ends the credentials: a password change or reset
    (the hashes of the user's *other* sessions, `accounts.services.session_hash(key)`), a
    revoked API token (its id). Empty iterables emit nothing: a `session.ended` naming neither
    a session nor a token closes *every* socket of the user (logout everywhere, deactivation),
    which is `accounts.services.session_ended(session_key=None)`.
    """
    targets: list[dict[str, Any]] = []
    for session in session_hashes:
        if not isinstance(session, str) or not session:
            raise ValueError(f"invalid session hash: {session!r}")
        targets.append({"session": session, "token": None})
    for token in token_ids:
        if isinstance(token, bool) or not isinstance(token, int):
            raise ValueError(f"invalid token id: {token!r}")
        targets.append({"session": None, "token": token})
    return [
        emit(type=SESSION_ENDED, data=data, groups=[f"user.{user_id}"],
             audience={"users": [user_id]})
        for data in targets
    ]


def session_end_applies(data: dict[str, Any], *, session: str | None, token: int | None) -> bool:
    """Does a `session.ended` event end a socket of this session hash / API token id?"""
    ended_session, ended_token = data.get("session"), data.get("token")
    if ended_session is None and ended_token is None:
        return True
    if ended_session is not None and ended_session == session:
        return True
    return ended_token is not None and ended_token == token


#: Events committed inside a `pushes_after()` block, waiting for its end.
_held_pushes: ContextVar[list | None] = ContextVar("comms_held_pushes", default=None)


@contextmanager
def pushes_after() -> Iterator[None]:
    """Push the events committed inside this block when it ends, not at their commit.

    For a request whose response is built after the service committed: under ASGI the view's
    thread shares the interpreter with the gateway's event loop in the same process, and a
    response built while the dispatcher writes the event to thousands of sockets slows both
    (the publish request: docs/performance.md). The events are durable at commit either way;
    only the push waits, and it happens even when the block raises (the relay would too).
    """
    held: list = []
    token = _held_pushes.set(held)
    try:
        yield
    finally:
        _held_pushes.reset(token)
        for event in held:
            push_event(event)


def _push_now_or_later(event) -> None:
    held = _held_pushes.get()
    if held is None:
        push_event(event)
    else:
        held.append(event)


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
    from channels_app.models import Event

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
        # (channels_app.dispatch).
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
    from channels_app.models import Event

    try:
        _send(list(event.groups), event_message(event))
    except Exception:
        # Release the claim so that the relay need not wait for the lease to run out.
        Event.objects.filter(id=event.id, pushed_at=None).update(claimed_at=None)
        raise
    Event.objects.filter(id=event.id).update(pushed_at=timezone.now())


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
        from channels_app.relay import schedule_relay

        schedule_relay()
        return False
    return True
