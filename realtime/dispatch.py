"""The gateway's fan-out: one channel-layer subscription per process, frames written straight to
the server.

A group event reaches a process once, on the dispatcher's one layer channel (which joins every
group that one of the process's connections needs), and is handed to each local connection of
that group as a plain function call (`Member.offer`), in one loop — what `websockets.broadcast`
does. Before it, every connection joined its groups itself: the layer queued each event once
per connection and Channels woke one task per connection per event (docs/performance.md,
finding 2).

Frames go out through the server's own ASGI `send` (kept in the scope by
`comms.asgi.KeepServerSend`), not through the session middleware's wrapper, which only the
handshake needs. A write that cannot complete at once (a client that stopped reading: uvicorn
waits for its socket to drain) is finished by a task of that connection alone; later frames
queue behind it, so one stuck client never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

#: Scope key of the server's own ASGI `send` (set by comms.asgi.KeepServerSend).
RAW_SEND_SCOPE_KEY = "comms.raw_send"
#: Frames one connection may have waiting for its socket to drain; past this the connection is
#: closed (its client reconnects and resumes from the database). As many as one resume sends.
BACKLOG_LIMIT = 2000
#: Ids a connection remembers as sent, counted back from the largest one (see SentIds).
SENT_WINDOW = 4096

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Member(Protocol):
    def offer(self, message: dict[str, Any]) -> None:
        """Take a group event; never awaits (it runs inside the dispatcher's loop)."""


class SentIds:
    """Ids of the events sent on one connection, in constant memory (~0.5 KiB).

    Event ids are unique and arrive nearly in increasing order; only the few that arrive late
    (a push overtaken by another process's, a relay re-push, a second group of the same
    connection) are below the largest one. So: the largest id sent, and a bitmap of which of the
    SENT_WINDOW ids below it were sent. An id further back than the window counts as not sent —
    a re-push that late is delivered again rather than risk losing an event (the client shows
    each id once); the OrderedDict of 4,096 ids this replaces forgot old ids the same way.
    """

    __slots__ = ("bits", "high")

    def __init__(self) -> None:
        self.high = 0
        #: Bit i set: event `high - i` was sent.
        self.bits = 0

    def __contains__(self, event_id: int) -> bool:
        offset = self.high - event_id
        return 0 <= offset < SENT_WINDOW and bool((self.bits >> offset) & 1)

    def add(self, event_id: int) -> None:
        offset = self.high - event_id
        if offset < 0:
            if -offset >= SENT_WINDOW:
                self.bits = 1
            else:
                self.bits = ((self.bits << -offset) | 1) & ((1 << SENT_WINDOW) - 1)
            self.high = event_id
        elif offset < SENT_WINDOW:
            self.bits |= 1 << offset

    def __iter__(self) -> Iterator[int]:
        bits, event_id = self.bits, self.high
        while bits:
            if bits & 1:
                yield event_id
            bits >>= 1
            event_id -= 1


class FrameWriter:
    """Writes text frames of one connection through the server's `send`, without waiting.

    `write` drives the server's send coroutine by hand: when it completes without suspending
    (the normal case: the frame went into the socket's buffer) no task is created at all. When
    it suspends (uvicorn waits for a full buffer to drain), a task of this connection finishes
    it and then sends what queued up meanwhile, in order.
    """

    __slots__ = ("_backlog", "_on_overflow", "_send", "_task", "closed")

    def __init__(self, send: Send, on_overflow: Callable[[], None]) -> None:
        self._send = send
        self._on_overflow = on_overflow
        self._backlog: deque[str] = deque()
        self._task: asyncio.Task | None = None
        self.closed = False

    def write(self, text: str) -> None:
        if self.closed:
            return
        if self._task is not None:
            if len(self._backlog) >= BACKLOG_LIMIT:
                self.close()
                self._on_overflow()
                return
            self._backlog.append(text)
            return
        coroutine = self._send({"type": "websocket.send", "text": text})
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return
        except Exception:
            # The connection is gone; its disconnect handler removes it from the dispatcher.
            logger.debug("gateway: write to a closed connection", exc_info=True)
            self.closed = True
            return
        self._task = asyncio.get_running_loop().create_task(self._finish(coroutine, waiting_on))

    async def _finish(self, coroutine, waiting_on: Any) -> None:
        try:
            while True:
                # The coroutine yielded the future it waits on (or None: "run me again soon").
                # Wait for it here, then resume the coroutine, which reads the future's result.
                try:
                    if waiting_on is None:
                        await asyncio.sleep(0)
                    else:
                        await asyncio.wait((waiting_on,))
                except asyncio.CancelledError:
                    coroutine.close()
                    raise
                try:
                    waiting_on = coroutine.send(None)
                except StopIteration:
                    break
            while self._backlog and not self.closed:
                await self._send({"type": "websocket.send", "text": self._backlog.popleft()})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.debug("gateway: write to a closed connection", exc_info=True)
            self.closed = True
        finally:
            self._task = None

    def close(self) -> None:
        """Write nothing more (the connection is closing)."""
        self.closed = True
        self._backlog.clear()
        if self._task is not None:
            self._task.cancel()


class Dispatcher:
    """This process's one layer channel, the groups it joined, and their local members."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.loop = asyncio.get_running_loop()
        self.channel: str | None = None
        #: group → local members; a group is joined in the layer while it has one.
        self.members: dict[str, set[Member]] = {}
        #: Groups the layer has our channel in.
        self.subscribed: set[str] = set()
        # Layer calls (new_channel, group_add/discard) one at a time, so that the layer's view
        # of a group never lags behind `subscribed` while a join and a leave cross.
        self._lock = asyncio.Lock()
        self._receiver: asyncio.Task | None = None

    async def join(self, member: Member, groups: Iterable[str]) -> None:
        """Add `member` to `groups`; returns once the layer delivers those groups here."""
        for group in groups:
            self.members.setdefault(group, set()).add(member)
            if group in self.subscribed:
                continue
            async with self._lock:
                if group in self.subscribed or member not in self.members.get(group, ()):
                    continue
                await self._ensure_channel()
                await self.layer.group_add(group, self.channel)
                self.subscribed.add(group)

    async def leave(self, member: Member, groups: Iterable[str]) -> None:
        """Remove `member` from `groups`; a group no local member needs is left in the layer."""
        for group in groups:
            local = self.members.get(group)
            if local is None:
                continue
            local.discard(member)
            if local:
                continue
            del self.members[group]
            async with self._lock:
                if group in self.subscribed and group not in self.members:
                    # Marked first: a join meanwhile waits for the lock and re-adds the group.
                    self.subscribed.discard(group)
                    await self.layer.group_discard(group, self.channel)

    async def _ensure_channel(self) -> None:
        if self.channel is None:
            self.channel = await self.layer.new_channel()
            self._receiver = self.loop.create_task(self._receive(), name="comms-dispatcher")

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The layer is down (Redis restarting): the relay and resumes cover the gap.
                logger.warning("gateway dispatcher: layer receive failed", exc_info=True)
                await asyncio.sleep(1)
                continue
            self.dispatch(message)

    def dispatch(self, message: dict[str, Any]) -> None:
        members = self.members.get(message.get("group", ""))
        if not members:
            return
        # A copy: a member's offer may close its connection and leave groups meanwhile.
        for member in tuple(members):
            try:
                member.offer(message)
            except Exception:
                logger.exception("gateway dispatcher: delivery to one connection failed")


_dispatcher: Dispatcher | None = None


def get_dispatcher() -> Dispatcher:
    """The dispatcher of the running event loop (one per server process)."""
    global _dispatcher
    if _dispatcher is None or _dispatcher.loop is not asyncio.get_running_loop():
        _dispatcher = Dispatcher()
    return _dispatcher
