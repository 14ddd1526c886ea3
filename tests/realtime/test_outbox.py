"""The event log (outbox): written in the service's transaction, ids visible in commit order,
claimed once, re-pushed by the relay, read back by resume."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from realtime import audience as realtime_audience
from realtime import gateway, outbox, push, relay
from realtime.audience import Viewer
from realtime.models import Event
from realtime.outbox import emit
from realtime.push import claim_event
from tests.conftest import free_port
from tests.realtime.helpers import emit_committed

SMG = Viewer(user_id=1, memberships=(("33.74.DISKOMINFO", "member"),))
SOLO = Viewer(user_id=2, memberships=(("33.72.DISKOMINFO", "member"),))
PROVINCE_GROUPS = {"unit.33", "unit.33.74", "unit.33.74.DISKOMINFO"}


def test_an_event_is_written_with_the_change_and_vanishes_with_its_rollback(transactional_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(type="announcement.published", data={"id": 1}, groups=["unit.33"])
        raise RuntimeError("the service failed after emitting")
    assert not Event.objects.exists()
    event = emit_committed(type="announcement.published", data={"id": 2}, groups=["unit.33"])
    stored = Event.objects.get()
    assert (stored.id, stored.data, stored.groups) == (event.id, {"id": 2}, ["unit.33"])
    # Pushed after commit through the layer of this process.
    assert stored.pushed_at is not None


def test_pushes_after_holds_committed_events_until_the_block_ends(transactional_db):
    # The publish API builds its response first, then pushes (docs/performance.md).
    with outbox.pushes_after():
        event = emit_committed(type="announcement.published", data={"id": 1}, groups=["unit.33"])
        stored = Event.objects.get(id=event.id)
        assert stored.pushed_at is None  # committed, durable, not pushed yet
    assert Event.objects.get(id=event.id).pushed_at is not None
    # A block that fails after the commit still pushes what it committed.
    with pytest.raises(RuntimeError), outbox.pushes_after():
        event = emit_committed(type="announcement.published", data={"id": 2}, groups=["unit.33"])
        raise RuntimeError("building the response failed")
    assert Event.objects.get(id=event.id).pushed_at is not None
    # Outside a block an event is pushed at its commit, as before.
    event = emit_committed(type="announcement.published", data={"id": 3}, groups=["unit.33"])
    assert Event.objects.get(id=event.id).pushed_at is not None


@pytest.mark.parametrize("groups", [[], ["unit 33"], ["x" * 100], ["unit.33", "ünit"]])
def test_emit_refuses_a_group_the_layer_would_refuse(db, groups):
    with pytest.raises(ValueError):
        emit(type="x.y", data={}, groups=groups)
    assert not Event.objects.exists()


def test_two_pushers_never_claim_the_same_event(db):
    event = Event.objects.create(type="x.y", data={}, groups=["unit.33"])
    assert claim_event(event.id) is True
    assert claim_event(event.id) is False
    # A pusher that died holding the claim is replaced once the lease has run out.
    Event.objects.filter(id=event.id).update(
        claimed_at=timezone.now() - push.CLAIM_LEASE - timedelta(seconds=1)
    )
    assert claim_event(event.id) is True
    Event.objects.filter(id=event.id).update(pushed_at=timezone.now(), claimed_at=None)
    assert claim_event(event.id) is False


def test_the_relay_pushes_old_unpushed_events_in_order_and_leaves_young_ones(db):
    old = timezone.now() - relay.RELAY_DELAY - timedelta(seconds=1)
    first = Event.objects.create(type="x.y", data={}, groups=["unit.33"])
    second = Event.objects.create(type="x.y", data={}, groups=["unit.33"])
    young = Event.objects.create(type="x.y", data={}, groups=["unit.33"])
    Event.objects.filter(id__in=[first.id, second.id]).update(created_at=old)
    assert relay.relay_pending() == 2
    pushed = dict(Event.objects.values_list("id", "pushed_at"))
    assert pushed[first.id] is not None and pushed[second.id] is not None
    assert pushed[young.id] is None
    assert relay.relay_pending() == 0  # nothing is pushed twice


def test_a_failed_push_leaves_the_event_for_the_relay(db, settings):
    # A real Redis client against a port where nothing listens: the push fails for real.
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{free_port()}/0",
                              "socket_timeout": None, "socket_connect_timeout": 1}]},
    }}
    event = Event.objects.create(type="x.y", data={}, groups=["unit.33"])
    assert relay.push_event(event) is False
    event.refresh_from_db()
    assert event.pushed_at is None and event.claimed_at is None
    Event.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(minutes=1))
    assert relay.relay_pending() == 0
    assert Event.objects.get(id=event.id).pushed_at is None


def test_the_relay_task_runs_the_relay(db):
    from realtime.relay import relay_events

    event = Event.objects.create(type="x.y", data={}, groups=["unit.33"])
    Event.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(minutes=1))
    assert relay_events.call() == 1
    assert Event.objects.get(id=event.id).pushed_at is not None


# --- Resume ---------------------------------------------------------------------------------


def test_resume_returns_what_the_viewer_may_see_in_id_order(db, django_assert_num_queries):
    smg_only = {"units": ["33.74"], "subunits": True}
    solo_only = {"units": ["33.72"], "subunits": True}
    ids = [
        emit_committed(type="a.b", data={"n": n}, groups=groups, audience=audience).id
        for n, (groups, audience) in enumerate([
            (["unit.33"], smg_only),       # 0: smg
            (["unit.33"], solo_only),      # 1: solo only
            (["unit.33.72"], None),        # 2: a group smg is not in
            (["unit.33"], None),           # 3: everyone in the province
            (["user.1"], {"users": [1]}),  # 4: personal, other group
        ])
    ]
    Event.objects.create(type=realtime_audience.SESSION_ENDED, data={"session": None},
                         groups=["unit.33"], audience=None)  # control: never forwarded
    # The head, the oldest row (is the cursor older than the log?) and one batch query,
    # however many events: filtering is in memory.
    with django_assert_num_queries(3):
        result = gateway.events_for_resume(user=None, viewer=SMG, groups=PROVINCE_GROUPS, after=0)
    assert [event_id for event_id, _ in result.events] == [ids[0], ids[3]]
    assert result.last == Event.objects.order_by("-id").first().id
    assert result.more is False
    with django_assert_num_queries(4):  # the head, the cursor's event, look-back, batch
        with_user = gateway.events_for_resume(
            user=None, viewer=SMG, groups=PROVINCE_GROUPS | {"user.1"}, after=ids[0]
        )
    assert [event_id for event_id, _ in with_user.events] == [ids[3], ids[4]]


def test_resume_pages_and_skips_what_the_connection_already_has(db):
    ids = [emit_committed(type="a.b", data={"n": n}, groups=["unit.33"]).id for n in range(7)]
    page = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"}, after=0, limit=3,
                                     skip=[ids[1]])
    assert [i for i, _ in page.events] == [ids[0], ids[2], ids[3]]
    assert page.more is True and page.last == ids[3]
    rest = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"},
                                     after=page.last, limit=3,
                                     skip=[ids[1], *(i for i, _ in page.events)])
    assert [i for i, _ in rest.events] == ids[4:]
    assert rest.more is False


def test_resume_looks_back_for_an_event_pushed_after_the_cursor(db):
    # 100 committed first but its process died before the push; 101 was pushed at once and
    # the client saw it live. Resuming "after 101" must still bring 100.
    late = Event.objects.create(type="a.b", data={}, groups=["unit.33"])
    seen = emit_committed(type="a.b", data={}, groups=["unit.33"])
    result = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"}, after=seen.id)
    assert [i for i, _ in result.events] == [late.id]
    # Once the relay has pushed it, well after the cursor's event, it is still offered…
    Event.objects.filter(id=late.id).update(pushed_at=timezone.now() + timedelta(seconds=5))
    again = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"}, after=seen.id)
    assert [i for i, _ in again.events] == [late.id]
    # …but an event pushed before the cursor's event was pushed is not re-sent.
    Event.objects.filter(id=late.id).update(pushed_at=timezone.now() - timedelta(minutes=5))
    assert gateway.events_for_resume(
        user=None, viewer=SMG, groups={"unit.33"}, after=seen.id
    ).events == []


def test_a_cursor_beyond_the_newest_event_is_brought_back(db):
    newest = emit_committed(type="a.b", data={}, groups=["unit.33"])
    result = gateway.events_for_resume(
        user=None, viewer=SMG, groups={"unit.33"}, after=newest.id + 500
    )
    assert result.last == newest.id


# --- Two concurrent transactions (PostgreSQL) -------------------------------------------------


def _wait_until_blocked(pid: int) -> None:
    """Poll pg_stat_activity until backend `pid` waits for a lock (bounded)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.05)
    pytest.fail(f"backend {pid} never waited for the event lock")


def _in_thread(target, results: dict, key: str) -> threading.Thread:
    def run() -> None:
        try:
            results[key] = target()
        except Exception as exc:  # reported by the test
            results[key] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_ids_become_visible_in_commit_order_with_two_concurrent_transactions(
    require_postgres, transactional_db
):
    """Transaction A emits first and holds its transaction open; B emits and tries to commit
    first. Without the lock B's larger id would be visible while A's smaller one is not (a
    client resuming after B would skip A for ever). With it B waits for A."""
    a_emitted = threading.Event()
    a_may_commit = threading.Event()
    b_pid: dict[str, int] = {}
    results: dict[str, object] = {}

    def transaction_a() -> int:
        with transaction.atomic():
            event = emit(type="a.b", data={"tx": "A"}, groups=["unit.33"])
            a_emitted.set()
            a_may_commit.wait(30)
        return event.id

    def transaction_b() -> int:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                b_pid["pid"] = cursor.fetchone()[0]
            event = emit(type="a.b", data={"tx": "B"}, groups=["unit.33"])
        return event.id

    thread_a = _in_thread(transaction_a, results, "a")
    assert a_emitted.wait(30)
    thread_b = _in_thread(transaction_b, results, "b")
    while "pid" not in b_pid:
        time.sleep(0.01)
    _wait_until_blocked(b_pid["pid"])
    # B is blocked inside emit(): nothing of it is visible, and A is not visible yet either.
    assert list(Event.objects.values_list("data__tx", flat=True)) == []
    a_may_commit.set()
    thread_a.join(30)
    thread_b.join(30)
    assert isinstance(results["a"], int) and isinstance(results["b"], int), results
    assert results["a"] < results["b"]
    visible = list(Event.objects.order_by("id").values_list("data__tx", flat=True))
    assert visible == ["A", "B"]


def test_without_the_lock_a_larger_id_can_commit_first(require_postgres, transactional_db):
    """The hazard the lock removes, shown with plain inserts: B (larger id) commits while A
    (smaller id) is still open, so a reader sees a gap that a resume cursor would skip."""
    a_inserted = threading.Event()
    a_may_commit = threading.Event()
    results: dict[str, object] = {}

    def transaction_a() -> int:
        with transaction.atomic():
            event = Event.objects.create(type="a.b", data={"tx": "A"}, groups=["unit.33"])
            a_inserted.set()
            a_may_commit.wait(30)
        return event.id

    thread_a = _in_thread(transaction_a, results, "a")
    assert a_inserted.wait(30)
    b = Event.objects.create(type="a.b", data={"tx": "B"}, groups=["unit.33"])
    cursor_after_b = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"}, after=0)
    a_may_commit.set()
    thread_a.join(30)
    assert results["a"] < b.id
    assert [i for i, _ in cursor_after_b.events] == [b.id]  # A was not there to be seen
