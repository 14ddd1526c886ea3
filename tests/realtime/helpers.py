"""A test client of the gateway protocol, doing what static/js/realtime.js does: it keeps the
events it was shown by id (so a re-sent event is not shown twice), its resume cursor, and
counts what arrived twice on the wire."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from realtime.outbox import emit


def log_of(count: int, **fields) -> list[int]:
    """`count` events to the whole province, written at once, pushed long ago (so that a
    resume's look-back for late pushes leaves them out)."""
    from realtime.models import Event

    pushed = timezone.now() - timedelta(hours=1)
    rows = Event.objects.bulk_create(
        Event(type="notice.posted", data={"n": n}, groups=["unit.33"], pushed_at=pushed,
              **fields)
        for n in range(count)
    )
    return [row.id for row in rows]


def emit_committed(**kwargs: Any):
    """An event emitted the way a service does it, in its own committed transaction."""
    with transaction.atomic():
        return emit(**kwargs)


class RtClient:
    def __init__(self, ws, *, resume_after: int | None = None) -> None:
        self.ws = ws
        self.events: dict[int, dict] = {}
        self.wire_duplicates = 0
        self.errors: list[dict] = []
        self.connection_seen: set[int] = set()
        hello = self.recv()
        assert hello["type"] == "hello", hello
        self.hello = hello
        self.cursor = hello["last"] if resume_after is None else resume_after
        if resume_after is not None:
            self.resume(resume_after)

    def reconnect(self, ws) -> dict:
        """Continue on a new connection, as the browser does: resume from the cursor."""
        self.ws = ws
        self.connection_seen = set()
        hello = self.recv()
        assert hello["type"] == "hello", hello
        return self.resume(self.cursor)

    def recv(self, timeout: float = 10) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def _take(self, frame: dict) -> None:
        if "id" in frame:
            # Within one connection the server must never send an event twice; across
            # connections a resume may re-send one (look-back), and the client shows it once.
            if frame["id"] in self.connection_seen:
                self.wire_duplicates += 1
            self.connection_seen.add(frame["id"])
            self.events.setdefault(frame["id"], frame)
            self.cursor = max(self.cursor, frame["id"])
        elif frame.get("type") == "error":
            self.errors.append(frame)

    def pump_until(self, predicate, timeout: float = 15) -> dict:
        """Read frames until one satisfies `predicate`; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; have ids {sorted(self.events)}")
            frame = self.recv(timeout=remaining)
            self._take(frame)
            if predicate(frame):
                return frame

    def wait_for(self, ids, timeout: float = 15) -> None:
        wanted = set(ids)
        if wanted <= self.events.keys():
            return
        self.pump_until(lambda frame: wanted <= self.events.keys(), timeout=timeout)

    def resume(self, after: int | None = None) -> dict:
        after = self.cursor if after is None else after
        while True:
            self.ws.send(json.dumps({"type": "resume", "after": after}))
            done = self.pump_until(lambda frame: frame.get("type") == "resumed")
            self.cursor = max(self.cursor, done["last"])
            if not done.get("more"):
                return done
            after = done["last"]

    def ids(self) -> list[int]:
        return sorted(self.events)


def open_ws(server, user, **kwargs):
    """A real WebSocket to `server` with `user`'s session cookie (the caller closes it)."""
    from django.conf import settings
    from websockets.sync.client import connect

    from tests.conftest import session_cookie_for

    cookie = f"{settings.SESSION_COOKIE_NAME}={session_cookie_for(user)}"
    return connect(server.ws_url, origin=server.url, open_timeout=10,
                   additional_headers={"Cookie": cookie}, **kwargs)


def expected_ids(user, *, after: int = 0, until: int | None = None) -> list[int]:
    """Ids of the committed events `user` may see, by the gateway's own rule, from the DB."""
    from realtime.gateway import gateway_state_for, visible
    from realtime.models import Event

    state = gateway_state_for(user)
    events = Event.objects.filter(id__gt=after).order_by("id")
    if until is not None:
        events = events.filter(id__lte=until)
    return [e.id for e in events if visible(e, state.viewer, state.groups)]


#: Audiences of the gateway tests: the whole province, and Semarang's subtree only.
PROVINCE_WIDE = {"groups": ["unit.33"]}
SEMARANG_ONLY = {"groups": ["unit.33"], "audience": {"units": ["33.74"], "subunits": True}}


def finish(clients: list[RtClient], timeout: float = 60) -> int:
    """Emit a marker to the province and wait until every client has it: what was emitted
    before it has then been delivered (or never will be)."""
    marker = emit_committed(type="test.marker", data={}, groups=["unit.33"]).id
    for client in clients:
        client.wait_for([marker], timeout=timeout)
    return marker
