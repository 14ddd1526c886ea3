"""A test client of the gateway protocol, doing what static/js/realtime.js does: it keeps the
events it was shown by id (so a re-sent event is not shown twice), its resume cursor, and
counts what arrived twice on the wire."""

from __future__ import annotations

import json
import time
from typing import Any

from django.db import transaction

from comms.realtime import emit


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
        hello = self.recv()
        assert hello["type"] == "hello", hello
        self.hello = hello
        self.cursor = hello["last"] if resume_after is None else resume_after
        if resume_after is not None:
            self.resume(resume_after)

    def recv(self, timeout: float = 10) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def _take(self, frame: dict) -> None:
        if "id" in frame:
            if frame["id"] in self.events:
                self.wire_duplicates += 1
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
