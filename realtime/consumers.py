"""The WebSocket gateway at /ws/: one consumer per connection. Protocol: docs/realtime.md.

The connection joins groups (its user's units and their ancestors, its channels and threads,
`user.<id>`) through the process's dispatcher (`realtime.dispatch`), which hands it every
event of those groups; it filters each in memory with the Viewer it loaded at connect, and
answers client frames: `ping`, `resume`, `subscribe`/`unsubscribe`, and the actions other apps
register in `realtime.gateway`.

While the connection is busy (connecting, handling a client frame, recomputing its groups) live
events are held and taken afterwards, in order: as when each connection read its own layer
queue one message at a time, a resume and the live events it covers never interleave.

A connection ends with its credentials: `session.ended` for its session or API token, the
token's expiry (a timer), and a token that is no longer usable when a frame that reads or acts
arrives all close it with 4401. However it ends — a close, an exception in a handler, a
cancelled task — it leaves its groups and its slot in the per-user count (`__call__`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Coroutine
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import ServiceError
from realtime import gateway, heap
from realtime.audience import CONTROL_TYPES, SESSION_ENDED, audience_allows, session_hash
from realtime.dispatch import (
    BACKLOG_LIMIT,
    RAW_SEND_SCOPE_KEY,
    FrameWriter,
    SentIds,
    get_dispatcher,
)
from realtime.gateway import FrameError, error_frame
from realtime.outbox import session_end_applies
from realtime.relay import ensure_relay_loop

logger = logging.getLogger(__name__)

#: Close codes: 4401 = not (or no longer) authenticated; 1009 = frame too big (RFC 6455).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_BIG = 1009
CLOSE_TOO_BIG_APP = 4009
#: The client read too slowly and fell more than dispatch.BACKLOG_LIMIT frames behind.
CLOSE_TOO_SLOW = 4408
#: The user already has WS_MAX_PER_USER sockets open on this server process.
CLOSE_TOO_MANY = 4429
#: A unit-wide subscription.changed is applied by each connection within this many seconds.
RECOMPUTE_SPREAD_SECONDS = 3.0


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class SocketCount:
    """Open sockets per user in this server process (one event loop: no lock needed).

    Per process, not across processes: a user reaches at most WS_MAX_PER_USER sockets on each
    process behind the balancer. What the cap defends is a process's memory (a client opening
    thousands of sockets), which a per-process count bounds exactly, with nothing left behind
    by a killed process (a count in Redis would keep a dead process's sockets).
    """

    def __init__(self) -> None:
        self.open: Counter[int] = Counter()

    def take(self, user_id: int) -> bool:
        if self.open[user_id] >= settings.WS_MAX_PER_USER:
            return False
        self.open[user_id] += 1
        return True

    def release(self, user_id: int) -> None:
        self.open[user_id] -= 1
        if self.open[user_id] <= 0:
            del self.open[user_id]


sockets_per_user = SocketCount()


class CredentialsEnded(Exception):
    """The connection's token is no longer usable: close with 4401 instead of answering."""


class GatewayConsumer(AsyncWebsocketConsumer):
    # No layer channel per connection: the process's dispatcher holds the only one (a name no
    # CHANNEL_LAYERS entry has makes Channels' get_channel_layer() answer None).
    channel_layer_alias = None

    async def __call__(self, scope, receive, send) -> None:
        # Channels calls disconnect() only on a websocket.disconnect message: a handler that
        # raises (the consumer then ends with 1011) or a task cancelled by the server skips
        # it. Whatever ends the connection, it must leave its groups, or the process stays
        # subscribed to them and keeps the connection in memory for good.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels 4.3 runs close_old_connections() in a worker thread before *every* message;
        # with thousands of connections a broadcast then costs thousands of thread hops
        # (measured in bench/realtime_dispatch.py). This consumer never touches the ORM on the
        # event loop: its database work goes through database_sync_to_async, which closes
        # stale connections itself, so the hop is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- Connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.token = self.scope.get("auth_token")
        if self.token is not None and not self.token.has_scope("read"):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not sockets_per_user.take(user.pk):
            # Accepted, then closed: a refused handshake would look like a failed login.
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.counted_user = user.pk
        ensure_relay_loop()
        self.user = user
        session = self.scope.get("session") if self.token is None else None
        self.session_hash = session_hash(session.session_key if session else None)
        self.bucket = TokenBucket(gateway.RATE_PER_SECOND, gateway.RATE_BURST)
        self.sent = SentIds()
        #: Live events up to this id were covered by the last resume.
        self.resume_floor = 0
        #: Groups of the user (units, channels, own), recomputed on subscription.changed.
        self.base_groups: set[str] = set()
        #: Groups joined on request (announcement statistics …), kept across re-subscriptions;
        #: keyed by (topic, value) of the subscribe frame.
        self.subscriptions: dict[tuple[str, Any], str] = {}
        self.extra_groups: set[str] = set()
        self.joined: set[str] = set()
        self.pending_recompute: asyncio.Future | None = None
        self.tasks: set[asyncio.Task] = set()
        #: Live events are held while this is above 0 (see the module docstring).
        self.busy = 1
        self.held: deque[dict[str, Any]] = deque()
        self.writer: FrameWriter | None = None
        self.closing = False
        self.expiry: asyncio.TimerHandle | None = None
        self.dispatcher = get_dispatcher()
        state = await database_sync_to_async(gateway.gateway_state_for)(user)
        self.viewer = state.viewer
        self.base_groups = set(state.groups)
        await self._sync_groups()
        await self.accept()
        # From here on frames go straight to the server (dispatch.RAW_SEND_SCOPE_KEY); the
        # session middleware's send wrapper is only needed for the handshake.
        self.writer = FrameWriter(
            self.scope.get(RAW_SEND_SCOPE_KEY) or self.base_send, self._fell_behind
        )
        self._reply({"type": "hello", "user": user.pk, "last": state.head})
        self._done()
        heap.connection_ready()
        if self.token is not None and self.token.expires_at is not None:
            # Expiry sends no event: the connection closes itself when its token runs out.
            remaining = (self.token.expires_at - timezone.now()).total_seconds()
            self.expiry = asyncio.get_running_loop().call_later(
                max(0.0, remaining), self._end_unauthenticated
            )

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Leave everything this connection holds; safe to run more than once."""
        if getattr(self, "expiry", None) is not None:
            self.expiry.cancel()
            self.expiry = None
        if getattr(self, "pending_recompute", None) is not None:
            self.pending_recompute.cancel()
        for task in list(getattr(self, "tasks", ())):
            if task is not asyncio.current_task():
                task.cancel()
        if getattr(self, "writer", None) is not None:
            self.writer.close()
        if getattr(self, "counted_user", None) is not None:
            sockets_per_user.release(self.counted_user)
            self.counted_user = None
        if getattr(self, "dispatcher", None) is not None:
            dispatcher, self.dispatcher = self.dispatcher, None
            joined, self.joined = self.joined, set()
            await dispatcher.leave(self, joined)
            heap.connection_closed()

    async def _sync_groups(self) -> None:
        wanted = self.base_groups | self.extra_groups | set(self.subscriptions.values())
        added, removed = sorted(wanted - self.joined), sorted(self.joined - wanted)
        self.joined = wanted
        await self.dispatcher.join(self, added)
        await self.dispatcher.leave(self, removed)

    def _reply(self, content: dict[str, Any]) -> None:
        self.writer.write(json.dumps(content, separators=(",", ":"), ensure_ascii=False))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _fell_behind(self) -> None:
        self._close_soon(CLOSE_TOO_SLOW)

    def _end_unauthenticated(self) -> None:
        self._close_soon(CLOSE_UNAUTHENTICATED)

    def _close_soon(self, code: int) -> None:
        """Send nothing more and close with `code` (from code that must not await)."""
        if self.writer is not None:
            self.writer.close()
        if not self.closing:
            self.closing = True
            self._spawn(self.close(code=code))

    # --- Events from the dispatcher ---------------------------------------------------------

    def offer(self, message: dict[str, Any]) -> None:
        """A group event of this connection (realtime.dispatch.Member); never awaits."""
        if self.busy:
            if len(self.held) >= BACKLOG_LIMIT:
                # Stuck for that long (a close waiting on a client that stopped reading): the
                # client will resume from the database after it reconnects.
                self.held.clear()
                self._fell_behind()
                return
            self.held.append(message)
            return
        self._take(message)

    def _take(self, message: dict[str, Any]) -> None:
        kind = message["event"]
        if kind in CONTROL_TYPES:
            # Handled like a client frame: the events behind it wait until it is done.
            self.busy += 1
            self._spawn(self._control(message))
            return
        event_id = message["id"]
        if event_id <= self.resume_floor or event_id in self.sent:
            return
        if not audience_allows(message["audience"], self.viewer):
            return
        self.sent.add(event_id)
        # The text was serialised once for every connection (realtime.push.event_message).
        self.writer.write(message["text"])
        gateway.observe_delivery(kind, event_id, self.viewer.user_id)

    def _done(self) -> None:
        """The end of a busy stretch: take the events held meanwhile, in order."""
        while self.held and self.busy == 1:
            self._take(self.held.popleft())
        self.busy -= 1

    async def _control(self, message: dict[str, Any]) -> None:
        try:
            if message["event"] == SESSION_ENDED:
                await self._session_ended(message)
            else:
                await self._resubscribe(message)
        finally:
            self._done()

    async def _session_ended(self, message: dict[str, Any]) -> None:
        if not audience_allows(message["audience"], self.viewer):
            return
        token_id = self.token.pk if self.token is not None else None
        if session_end_applies(message["data"], session=self.session_hash, token=token_id):
            self._end_unauthenticated()

    async def _resubscribe(self, message: dict[str, Any]) -> None:
        if not audience_allows(message["audience"], self.viewer):
            return
        personal = all(group.startswith("user.") for group in message.get("groups", ()))
        if personal:
            await self._recompute_groups(message["id"])
            return
        # Sent to a whole unit (a new unit channel …): every connection of the subtree would
        # query the database at the same instant. Spread the recomputations over a few seconds,
        # one pending per connection, without holding up the events behind this one.
        if self.pending_recompute is None or self.pending_recompute.done():
            self.pending_recompute = asyncio.ensure_future(self._recompute_later(message["id"]))

    async def _recompute_later(self, since: int) -> None:
        await asyncio.sleep(random.uniform(0, RECOMPUTE_SPREAD_SECONDS))
        self.busy += 1
        try:
            await self._recompute_groups(since)
        finally:
            self._done()

    async def _recompute_groups(self, since: int) -> None:
        if self.dispatcher is None:
            return  # closed meanwhile
        state = await database_sync_to_async(gateway.gateway_state_for)(self.user)
        if self.dispatcher is None:
            return
        self.viewer = state.viewer
        self.base_groups = set(state.groups)
        before = set(self.joined)
        await self._sync_groups()
        added = self.joined - before
        if added:
            # Events sent to a group between the change (event `since`) and our joining it
            # were published to nobody here (pub/sub keeps nothing): fetch them from the log.
            result = await database_sync_to_async(gateway.events_for_resume)(
                user=self.user, viewer=self.viewer, groups=added, after=since,
                skip=list(self.sent), look_back=False,
            )
            if result.resync:
                self._reply({"type": "resync", "last": result.last})
            else:
                self._send_events(result)

    # --- Frames from the client -------------------------------------------------------------

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if getattr(self, "writer", None) is None:
            return  # accepted only to be closed (the per-user cap): nothing to answer
        self.busy += 1
        try:
            await self._receive_frame(message)
        finally:
            self._done()

    async def _receive_frame(self, message: dict[str, Any]) -> None:
        if self.closing:
            # Closing for a reason (credentials ended, too slow): frames that were already on
            # their way must not act in the moment before the close completes.
            return
        text = message.get("text")
        raw_size = len(text) if text is not None else len(message.get("bytes") or b"")
        # A str of n characters has at most 4n UTF-8 bytes: encode only when it matters.
        if text is not None and raw_size * 4 > gateway.MAX_FRAME_BYTES:
            raw_size = len(text.encode())
        if raw_size > gateway.MAX_FRAME_BYTES:
            await self._close_too_big()
            return
        if not self.bucket.take():
            message_text = _("Terlalu banyak bingkai; pelan-pelan.")
            self._reply(error_frame("rate_limited", message_text))
            return
        try:
            if text is None:
                raise FrameError("binary_frame", _("Hanya bingkai teks JSON yang diterima."))
            if raw_size > gateway.SOFT_FRAME_BYTES:
                raise FrameError("too_large", _("Bingkai terlalu besar."))
            await self._handle_frame(gateway.parse_frame(text))
        except FrameError as exc:
            self._reply(error_frame(exc.code, exc.message))
        except ServiceError as exc:
            self._reply(error_frame(exc.code, str(exc.message)))
        except CredentialsEnded:
            self._end_unauthenticated()

    async def _close_too_big(self) -> None:
        # The server itself closes with 1009 first when started with the 64 KiB limit
        # (docs/deployment.md); this check covers a server started without it. Daphne's
        # WebSocket library lets an application close only with 1000 or 3000-4999, hence 4009.
        self.writer.close()
        try:
            await self.close(code=CLOSE_TOO_BIG)
        except Exception:
            await self.close(code=CLOSE_TOO_BIG_APP)

    async def _require_usable_token(self) -> None:
        """Before a frame that reads or acts: a revoked or expired token gets no answer."""
        if self.token is None:
            return
        expires_at = self.token.expires_at
        if expires_at is not None and expires_at <= timezone.now():
            raise CredentialsEnded
        if not await database_sync_to_async(gateway.token_still_usable)(self.token):
            raise CredentialsEnded

    async def _handle_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "ping":
            self._reply({"type": "pong"})
            return
        if kind != "unsubscribe":
            await self._require_usable_token()
        if kind == "resume":
            gateway.validate_fields(frame, {"after": int})
            if not 0 <= frame["after"] <= gateway.MAX_EVENT_ID:
                raise FrameError("wrong_type", _("Kolom %(name)s salah jenis.") % {"name": "after"})
            await self._resume(frame["after"])
        elif kind == "subscribe":
            await self._subscribe(frame)
        elif kind == "unsubscribe":
            subscription, value = gateway.subscription_topic(frame)
            if self.subscriptions.pop((subscription.topic, value), None) is not None:
                await self._sync_groups()
            self._reply({"type": "unsubscribed", subscription.topic: value})
        else:
            await self._run_action(kind, frame)

    async def _resume(self, after: int) -> None:
        # Live events are held while this runs (the frame keeps the connection busy); those the
        # resume covered are dropped by resume_floor / sent afterwards.
        result = await database_sync_to_async(gateway.events_for_resume)(
            user=self.user, viewer=self.viewer, groups=self.joined, after=after,
            skip=list(self.sent),
        )
        if result.resync:
            # Too far behind to catch up from the log: the client reloads its page, then
            # continues from `last`.
            self._reply({"type": "resync", "last": result.last})
            return
        self._send_events(result)
        self.resume_floor = max(self.resume_floor, result.last)
        frame: dict[str, Any] = {"type": "resumed", "last": result.last}
        if result.more:
            frame["more"] = True
        self._reply(frame)

    def _send_events(self, result: gateway.ResumeResult) -> None:
        for event_id, text in result.events:
            if event_id in self.sent:
                continue
            self.sent.add(event_id)
            self.writer.write(text)
            gateway.observe_delivery(result.kinds[event_id], event_id, self.user.pk)

    async def _subscribe(self, frame: dict[str, Any]) -> None:
        subscription, value = gateway.subscription_topic(frame)
        key = (subscription.topic, value)
        if key not in self.subscriptions and len(self.subscriptions) >= gateway.MAX_SUBSCRIPTIONS:
            raise FrameError("too_many_subscriptions", _("Terlalu banyak langganan."))
        # resolve() runs the app's access check; NotFound becomes an error frame.
        group = await database_sync_to_async(subscription.resolve)(self.user, value)
        self.subscriptions[key] = group
        await self._sync_groups()
        self._reply({"type": "subscribed", subscription.topic: value})

    async def _run_action(self, kind: str, frame: dict[str, Any]) -> None:
        action = gateway.get_action(kind)
        if action is None:
            raise FrameError("unknown_type", _("Jenis bingkai tidak dikenal."))
        if self.token is not None and not self.token.has_scope(action.scope):
            raise FrameError("forbidden", _("Token ini tidak berhak melakukan tindakan ini."))
        gateway.validate_fields(frame, action.fields)
        context = gateway.ActionContext(
            user=self.user,
            viewer=self.viewer,
            token=self.token,
            join_group=self._join_extra,
            leave_group=self._leave_extra,
        )
        try:
            reply = await action.handler(context, frame)
        except (FrameError, ServiceError):
            raise
        except Exception:
            logger.exception("gateway action %s failed", kind)
            raise FrameError("internal", _("Terjadi kesalahan; coba lagi.")) from None
        if reply is not None:
            self._reply(reply)

    async def _join_extra(self, group: str) -> None:
        self.extra_groups.add(group)
        await self._sync_groups()

    async def _leave_extra(self, group: str) -> None:
        self.extra_groups.discard(group)
        await self._sync_groups()
