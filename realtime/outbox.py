"""The one door to the channel layer.

Service functions call `emit()` inside their transaction: it writes the event row and pushes the
event after commit. Nothing else in the project sends events to the channel layer (except the
relay, `realtime.relay`, which re-pushes unpushed rows through `push_event`).

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

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction

from realtime.audience import SESSION_ENDED
from realtime.relay import push_event

logger = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that orders event ids by commit (see emit()).
EVENT_LOCK_KEY = 0x636F6D6D73  # "comms"
#: What the channel layers accept as a group name (channels.layers.BaseChannelLayer).
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,99}$")


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
    from realtime.models import Event

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
    (the hashes of the user's *other* sessions, `realtime.audience.session_hash(key)`), a
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
