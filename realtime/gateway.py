"""The WebSocket gateway's protocol pieces: frame validation, the action registry, and the
database reads the consumer runs (its state at connect, and resume).

Other apps add client → server frames without touching the consumer:

- `register_action("ack", fields={"announcement": int, "version": int}, handler=…)`: the
  consumer validates the frame against `fields` (missing → `missing_field`, wrong type →
  `wrong_type`), checks the token scope, then awaits `handler(ctx, frame)`. A handler runs its
  service through `database_sync_to_async`; it may return a frame to send back; a
  `common.errors.ServiceError` it raises becomes an error frame.
- `register_subscription("stats", resolve=…)`: `{"type": "subscribe", "stats": 7}` calls
  `resolve(user, 7)` in a thread; it returns the group to join (after its own `access_*` check)
  or raises `NotFound`.
- `register_resume_rule("announcement.published", object_id=…, readable=…)`: a resume hands
  out an event of that type only if `readable(user, ids)` (run in a thread, once per resume for
  all the ids) contains `object_id(event data)`: the page's read rule, where the audience of
  the event's groups is wider than who may open the object (a person who joined a unit after
  a publication is not among its recipients).

- `register_viewer(loader)`: `loader(user)` → the connection's `Viewer` (exactly one app
  registers it: accounts, which owns memberships).
- `register_groups(provider)`: `provider(user, viewer)` → more groups a connection joins at
  connect (any number: accounts' unit groups, channels_app's channels and threads);
  `user.<id>` is built in.

Apps register in a module `<app>/ws_actions.py`, imported when the realtime app is ready
(`RealtimeConfig.ready()`). The gateway imports no feature app: it names a user as Django's
`AbstractBaseUser` and an API token by the `Token` protocol below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from realtime.audience import CONTROL_TYPES, Viewer, audience_allows
from realtime.push import event_message

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

#: Frames above this close the connection with 1009 (also set in daphne/uvicorn, see docs).
MAX_FRAME_BYTES: int = settings.WS_MAX_FRAME_BYTES
#: No frame of the protocol comes near this; a larger one gets a `too_large` error frame.
SOFT_FRAME_BYTES = 8 * 1024
#: Per-connection rate limit: a token bucket of BURST frames refilled at RATE per second.
RATE_PER_SECOND = 10.0
RATE_BURST = 30
#: Events sent by one resume; a client told `"more": true` resumes again from `last`.
RESUME_LIMIT = 2000
RESUME_BATCH = 500
#: Resume also re-sends events with an id below `after` whose push ended after the push of the
#: event `after` began (minus this allowance for clocks of different machines): a client may
#: have seen 101 live before 100's push arrived. A push that ended before another began
#: reaches every subscriber first (Redis delivers in order), so older events are not re-sent.
PUSH_SKEW = timedelta(seconds=1)
#: Extra groups (e.g. announcement statistics) one connection may subscribe to.
MAX_SUBSCRIPTIONS = 20
#: Nesting of arrays and objects in a client frame (the protocol's frames have 1 or 2).
#: Checked before parsing: json.loads recurses once per level, and ~1,000 levels (2 KB) raised
#: RecursionError, which killed the connection.
MAX_FRAME_DEPTH = 16
#: A resume further behind the newest event than this answers `resync`: the client reloads
#: instead of the server scanning the log from far back (3.3-3.8 s a frame at 100k events).
RESUME_MAX_EVENTS: int = settings.WS_RESUME_MAX_EVENTS
#: The relay deletes events older than this (realtime.relay.prune_events).
EVENT_RETENTION = timedelta(hours=settings.EVENT_RETENTION_HOURS)
#: Largest cursor a client may send (the id column is a bigint).
MAX_EVENT_ID = 2**63 - 1


class FrameError(Exception):
    """An invalid client frame: answered with an error frame, the connection stays open."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_frame(code: str, message: str) -> dict[str, str]:
    return {"type": "error", "code": code, "message": message}


def _type_ok(value: Any, expected: type | tuple[type, ...]) -> bool:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # JSON true is not a number here
    return isinstance(value, kinds)


# Characters of JSON that open or close a level, start or end a string, or escape.
_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')
# NUL (PostgreSQL refuses it in text) and lone surrogates (not text at all: they cannot be
# encoded to store or to send).
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def frame_too_deep(text: str, limit: int = MAX_FRAME_DEPTH) -> bool:
    """More than `limit` levels of arrays/objects, brackets inside strings not counted.

    One linear pass over the structural characters (no backtracking regular expression: a
    frame is anonymous-sized input, up to SOFT_FRAME_BYTES).
    """
    depth = 0
    in_string = False
    escaped = -1
    for match in _JSON_STRUCTURE.finditer(text):
        position = match.start()
        if position == escaped:
            continue
        char = match.group()
        if in_string:
            if char == "\\":
                escaped = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _has_bad_characters(value: Any) -> bool:
    """A NUL or a lone surrogate in any string (key or value) of a parsed frame."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _BAD_CHARACTERS.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_frame(text: str) -> dict[str, Any]:
    """A client's text frame as a JSON object with a string `type`, or a FrameError."""
    if "\x00" in text:
        raise FrameError("invalid_characters", _("Bingkai memuat karakter yang tidak sah."))
    if frame_too_deep(text):
        raise FrameError("too_deep", _("Bingkai terlalu bersarang."))
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("invalid_json", _("Bingkai bukan JSON.")) from None
    if _has_bad_characters(frame):
        raise FrameError("invalid_characters", _("Bingkai memuat karakter yang tidak sah."))
    if not isinstance(frame, dict):
        raise FrameError("invalid_frame", _("Bingkai harus berupa objek JSON."))
    if "type" not in frame:
        raise FrameError("missing_field", _("Kolom %(name)s wajib ada.") % {"name": "type"})
    if not isinstance(frame["type"], str):
        raise FrameError("wrong_type", _("Kolom %(name)s salah jenis.") % {"name": "type"})
    return frame


def validate_fields(frame: dict[str, Any], fields: dict[str, type | tuple[type, ...]]) -> None:
    for name, expected in fields.items():
        if name not in frame:
            raise FrameError("missing_field", _("Kolom %(name)s wajib ada.") % {"name": name})
        if not _type_ok(frame[name], expected):
            raise FrameError("wrong_type", _("Kolom %(name)s salah jenis.") % {"name": name})


# --- The registry ---------------------------------------------------------------------------


class Token(Protocol):
    """What the gateway uses of a bearer token (accounts.models.ApiToken)."""

    pk: Any
    expires_at: Any

    def has_scope(self, scope: str) -> bool: ...


@dataclass
class ActionContext:
    """What an action handler may use: who is asking, and the connection's group operations."""

    user: AbstractBaseUser
    viewer: Viewer
    token: Token | None
    join_group: Callable[[str], Awaitable[None]]
    leave_group: Callable[[str], Awaitable[None]]


Handler = Callable[[ActionContext, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Action:
    frame_type: str
    fields: dict[str, type | tuple[type, ...]]
    handler: Handler
    #: Token scope a bearer-token connection needs for this frame (sessions have every scope).
    scope: str


@dataclass(frozen=True)
class Subscription:
    topic: str
    value_type: type | tuple[type, ...]
    #: (user, value) → group name; runs in a thread, checks access, raises NotFound.
    resolve: Callable[[Any, Any], str]


BUILTIN_TYPES = frozenset({"ping", "resume", "subscribe", "unsubscribe"})
_actions: dict[str, Action] = {}
_subscriptions: dict[str, Subscription] = {}


def register_action(
    frame_type: str,
    *,
    fields: dict[str, type | tuple[type, ...]],
    handler: Handler,
    scope: str = "write",
) -> None:
    if frame_type in BUILTIN_TYPES or frame_type in _actions:
        raise ValueError(f"frame type {frame_type!r} is already registered")
    _actions[frame_type] = Action(frame_type, dict(fields), handler, scope)


def register_subscription(
    topic: str, *, resolve: Callable[[Any, Any], str], value_type: type = int
) -> None:
    if topic in _subscriptions or topic == "type":
        raise ValueError(f"subscription topic {topic!r} is already registered")
    _subscriptions[topic] = Subscription(topic, value_type, resolve)


def get_action(frame_type: str) -> Action | None:
    return _actions.get(frame_type)


@dataclass(frozen=True)
class ResumeRule:
    #: The id of the object an event names, from its data (None: names none, never handed out).
    object_id: Callable[[dict[str, Any]], Any]
    #: (user, ids) → the ids the user may read; runs in a thread, one call per resume.
    readable: Callable[[Any, set[Any]], Iterable[Any]]


_resume_rules: dict[str, ResumeRule] = {}


def register_resume_rule(
    event_type: str,
    *,
    readable: Callable[[Any, set[Any]], Iterable[Any]],
    object_id: Callable[[dict[str, Any]], Any] = lambda data: data.get("id"),
) -> None:
    if event_type in _resume_rules:
        raise ValueError(f"a resume rule for {event_type!r} is already registered")
    _resume_rules[event_type] = ResumeRule(object_id, readable)


#: (event type, observer(event type, event id, user id)): told of every event of that type the
#: gateway sends to a client. Runs on the event loop: it must only note, never do I/O (receipts
#: batch these reports into one write a second, announcements.receipts.delivery).
_delivery_observers: dict[str, list[Callable[[str, int, int], None]]] = {}


def register_delivery_observer(event_type: str, observer: Callable[[str, int, int], None]) -> None:
    _delivery_observers.setdefault(event_type, []).append(observer)


def observe_delivery(event_type: str, event_id: int, user_id: int) -> None:
    for observer in _delivery_observers.get(event_type, ()):
        observer(event_type, event_id, user_id)


def subscription_topic(frame: dict[str, Any]) -> tuple[Subscription, Any]:
    """The one registered topic a (un)subscribe frame names, validated."""
    topics = [key for key in frame if key != "type"]
    if not topics:
        raise FrameError("missing_field", _("Sebutkan apa yang hendak diikuti."))
    if len(topics) > 1:
        raise FrameError("invalid_frame", _("Satu langganan per bingkai."))
    subscription = _subscriptions.get(topics[0])
    if subscription is None:
        raise FrameError("unknown_topic", _("Langganan tidak dikenal."))
    value = frame[topics[0]]
    if not _type_ok(value, subscription.value_type):
        raise FrameError("wrong_type", _("Kolom %(name)s salah jenis.") % {"name": topics[0]})
    return subscription, value


# --- Database reads of the consumer (run through database_sync_to_async) --------------------


@dataclass(frozen=True)
class GatewayState:
    viewer: Viewer
    groups: frozenset[str]
    #: The largest event id at connect time: a fresh client's resume cursor.
    head: int


ViewerLoader = Callable[[Any], Viewer]
GroupsProvider = Callable[[Any, Viewer], Iterable[str]]
_viewer_loader: list[ViewerLoader] = []
_groups_providers: list[GroupsProvider] = []


def register_viewer(loader: ViewerLoader) -> None:
    """`loader(user)` → the Viewer a connection filters events with (exactly one)."""
    if _viewer_loader:
        raise ValueError("a viewer loader is already registered")
    _viewer_loader.append(loader)


def register_groups(provider: GroupsProvider) -> None:
    """`provider(user, viewer)` → groups a connection joins at connect, besides `user.<id>`."""
    _groups_providers.append(provider)


def gateway_state_for(user: AbstractBaseUser) -> GatewayState:
    from realtime.models import Event

    if not _viewer_loader:
        raise RuntimeError("no viewer loader registered (realtime.gateway.register_viewer)")
    # Memberships are read once (the viewer), for the in-memory filter and every provider.
    viewer = _viewer_loader[0](user)
    groups = {f"user.{user.pk}"}
    for provider in _groups_providers:
        groups.update(provider(user, viewer))
    head = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return GatewayState(viewer=viewer, groups=frozenset(groups), head=head)


def visible(event, viewer: Viewer, groups: frozenset[str] | set[str]) -> bool:
    """May this connection see the event? The same rule as for live events."""
    if event.type in CONTROL_TYPES:
        return False
    if groups.isdisjoint(event.groups):
        return False
    return audience_allows(event.audience, viewer)


@dataclass(frozen=True)
class ResumeResult:
    #: (id, JSON text) in id order.
    events: list[tuple[int, str]]
    #: Event type by id (for delivery observers).
    kinds: dict[int, str]
    #: The cursor the client keeps: the last id examined (visible to the client or not).
    last: int
    more: bool
    #: The cursor is too far behind (or older than the retained log): the client must reload,
    #: and continue from `last`; `events` is empty.
    resync: bool = False


def _cursor_predates_log(after: int) -> bool:
    """Were events after `after` perhaps pruned? (realtime.relay.prune_events)

    Pruning always keeps the newest of the rows it found older than the retention window, so
    once anything was pruned the oldest row left is older than the window. A log whose oldest
    row is younger than the window was never pruned; a cursor below an old oldest row may
    have missed what was deleted.
    """
    from realtime.models import Event

    oldest = Event.objects.order_by("id").only("id", "created_at").first()
    if oldest is None or after + 1 >= oldest.id:
        return False
    return oldest.created_at < timezone.now() - EVENT_RETENTION


def _apply_resume_rules(user: AbstractBaseUser | None, candidates: list[Any]) -> list[Any]:
    """The candidates whose type has no resume rule, or whose object `user` may read."""
    # Keyed by the rule's function: the types of one kind of object share one call.
    wanted: dict[Callable[..., Iterable[Any]], set[Any]] = {}
    for event in candidates:
        rule = _resume_rules.get(event.type)
        if rule is not None:
            object_id = rule.object_id(event.data)
            if object_id is not None:
                wanted.setdefault(rule.readable, set()).add(object_id)
    allowed = {
        readable: set(readable(user, ids)) if user is not None else set()
        for readable, ids in wanted.items()
    }
    kept = []
    for event in candidates:
        rule = _resume_rules.get(event.type)
        if rule is None or rule.object_id(event.data) in allowed.get(rule.readable, ()):
            kept.append(event)
    return kept


def events_for_resume(
    *,
    user: AbstractBaseUser | None,
    viewer: Viewer,
    groups: Iterable[str],
    after: int,
    skip: Iterable[int] = (),
    limit: int = RESUME_LIMIT,
    look_back: bool = True,
) -> ResumeResult:
    """Events visible to a connection that it may have missed since `after`, in id order.

    Every event with a larger id, and the few with a smaller id that were pushed after the
    event `after` (or not yet pushed): ids become visible in commit order (see
    realtime.outbox.emit), but pushes from different processes can overtake each other.
    Ids in `skip` (already sent on this connection) are left out. No query per event: rows are
    read in batches and filtered in memory (on PostgreSQL, rows of none of the connection's
    groups are left out by the query already), then by the registered resume rules
    (`register_resume_rule`, one query set per rule). At most RESUME_MAX_EVENTS rows are
    examined: a cursor further back, or from before the retained log, gets `resync`.
    """
    from realtime.models import Event

    group_set = frozenset(groups)
    skipped = set(skip)
    columns = ("id", "type", "data", "groups", "audience")
    head = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    if head - after > RESUME_MAX_EVENTS:
        return ResumeResult(events=[], kinds={}, last=head, more=False, resync=True)

    def rows(queryset):
        if connection.vendor == "postgresql" and group_set:
            # jsonb `?|`: the array holds one of these strings (the same test as visible()).
            queryset = queryset.filter(groups__has_any_keys=sorted(group_set))
        return queryset.order_by("id").only(*columns)

    candidates: list[Any] = []
    anchor = None
    if after > 0:
        anchor = (
            Event.objects.filter(id__lte=after).order_by("-id").only("claimed_at", "created_at")
            .first()
        )
    if anchor is None and _cursor_predates_log(after):
        return ResumeResult(events=[], kinds={}, last=head, more=False, resync=True)
    # Without look-back (catching up on a group just joined) only later events count.
    if anchor is not None and look_back:
        since = (anchor.claimed_at or anchor.created_at) - PUSH_SKEW
        late = rows(
            Event.objects.filter(id__lt=after, id__gte=after - RESUME_MAX_EVENTS)
            .filter(Q(pushed_at=None) | Q(pushed_at__gte=since))
        )[:limit]
        candidates.extend(
            event for event in late if event.id not in skipped and visible(event, viewer, group_set)
        )

    last = after
    full = len(candidates) >= limit
    while not full:
        batch = list(rows(Event.objects.filter(id__gt=last, id__lte=head))[:RESUME_BATCH])
        for event in batch:
            last = event.id
            if event.id not in skipped and visible(event, viewer, group_set):
                candidates.append(event)
                if len(candidates) >= limit:
                    full = True
                    break
        if len(batch) < RESUME_BATCH:
            break
    more = full and last < head
    if not more:
        # Everything up to the head was examined (rows of other groups were not even read); a
        # cursor beyond the head (the database was restored from a backup) gets the real head,
        # or the client would skip the next events.
        last = head
    found = _apply_resume_rules(user, candidates)
    return ResumeResult(
        events=[(event.id, event_message(event)["text"]) for event in found],
        kinds={event.id: event.type for event in found},
        last=last,
        more=more,
    )


def token_still_usable(token: Any) -> bool:
    """Is this API token still usable (not revoked, not expired, its user active)?

    A bearer-token connection asks before every frame that reads or acts: revocation also
    closes its sockets through `session.ended`, but a socket must not act in the moment before
    that event arrives (or while Redis is down and the relay cannot push it). The row is read
    again through the token's own model (accounts.models.ApiToken), which the gateway does
    not import.
    """
    current = type(token)._default_manager.select_related("user").filter(pk=token.pk).first()
    return current is not None and current.is_usable() and current.user.is_active
