"""Resource limits of the gateway: a resume reads a bounded part of the event log (too far
behind, or from before what the relay kept: `resync`), the relay prunes old events, and one
user holds a bounded number of sockets per server process."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from realtime import gateway, relay
from realtime.audience import Viewer
from realtime.models import Event
from tests.realtime.helpers import RtClient, emit_committed, log_of, open_ws

pytestmark = pytest.mark.django_db(transaction=True)

SMG = Viewer(user_id=1, memberships=(("33.74.DISKOMINFO", "member"),))


def resume(client: RtClient, after: int) -> dict:
    client.ws.send(json.dumps({"type": "resume", "after": after}))
    return client.pump_until(lambda frame: frame.get("type") in {"resumed", "resync", "error"})


# --- Resume bound -----------------------------------------------------------------------------


def test_a_resume_far_behind_reads_only_the_head(monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(gateway, "RESUME_MAX_EVENTS", 100)
    ids = log_of(1200)
    # From 0 the old code read all the rows, 500 a query (100k rows: 3.3-3.8 s a frame).
    with django_assert_max_num_queries(1):
        result = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"}, after=0)
    assert result.resync is True
    assert (result.events, result.last, result.more) == ([], ids[-1], False)
    # Within the bound the events come as before.
    near = gateway.events_for_resume(user=None, viewer=SMG, groups={"unit.33"}, after=ids[-51])
    assert near.resync is False
    assert [event_id for event_id, _ in near.events] == ids[-50:]


def test_a_resume_too_far_behind_answers_resync_over_the_socket(
    require_redis, start_asgi_server, personas
):
    server = start_asgi_server(WS_RESUME_MAX_EVENTS="40")
    ids = log_of(60)
    with open_ws(server, personas.smg_member) as ws:
        client = RtClient(ws)
        assert resume(client, 0) == {"type": "resync", "last": ids[-1]}
        assert resume(client, ids[-42]) == {"type": "resync", "last": ids[-1]}  # 41 behind
        # 40 behind: still caught up from the log; the connection goes on as usual.
        assert resume(client, ids[-41]) == {"type": "resumed", "last": ids[-1]}
        assert client.ids() == ids[-40:]
        live = emit_committed(type="notice.posted", data={}, groups=["unit.33"]).id
        client.wait_for([live])


# --- Pruning ----------------------------------------------------------------------------------


def make_old(ids: list[int], hours: float) -> None:
    Event.objects.filter(id__in=ids).update(created_at=timezone.now() - timedelta(hours=hours))


def test_pruning_deletes_events_older_than_the_retention_but_the_newest_of_them():
    retention = gateway.EVENT_RETENTION.total_seconds() / 3600
    old, young = log_of(30), log_of(5)
    make_old(old, retention + 1)
    assert relay.prune_events(batch=7) == 29  # in DELETEs of at most 7 rows
    assert list(Event.objects.order_by("id").values_list("id", flat=True)) == [old[-1], *young]
    assert relay.prune_events() == 0


def test_a_resume_from_before_the_pruned_log_answers_resync(asgi_server, personas):
    retention = gateway.EVENT_RETENTION.total_seconds() / 3600
    old, young = log_of(10), log_of(3)
    make_old(old, retention + 1)
    relay.prune_events()
    with open_ws(asgi_server, personas.smg_member) as ws:
        client = RtClient(ws)
        # Events after 0 (and after old[2]) were deleted: the client cannot catch up.
        assert resume(client, 0) == {"type": "resync", "last": young[-1]}
        assert resume(client, old[2]) == {"type": "resync", "last": young[-1]}
        # From the oldest row kept on, nothing is missing.
        assert resume(client, old[-1]) == {"type": "resumed", "last": young[-1]}
        assert client.ids() == young


def test_a_young_log_is_read_from_zero_without_resync(asgi_server, personas):
    ids = log_of(5)
    with open_ws(asgi_server, personas.smg_member) as ws:
        client = RtClient(ws)
        assert resume(client, 0) == {"type": "resumed", "last": ids[-1]}
        assert client.ids() == ids


def test_the_relay_loop_of_a_server_prunes_the_log(asgi_server, personas):
    retention = gateway.EVENT_RETENTION.total_seconds() / 3600
    old = log_of(20)
    make_old(old, retention + 1)
    # Under daphne the relay loop starts with the first socket.
    with open_ws(asgi_server, personas.smg_member) as ws:
        RtClient(ws)
        deadline = time.monotonic() + 30
        while Event.objects.filter(id__in=old).count() > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert list(Event.objects.filter(id__in=old).values_list("id", flat=True)) == [old[-1]]


# --- Sockets per user -------------------------------------------------------------------------


def test_sockets_beyond_the_per_user_cap_are_closed_with_4429(start_asgi_server, personas):
    server = start_asgi_server(WS_MAX_PER_USER="3")
    user = personas.smg_member
    with ExitStack() as stack:
        sockets = [stack.enter_context(open_ws(server, user)) for _ in range(3)]
        for ws in sockets:
            RtClient(ws)
        with open_ws(server, user) as extra, pytest.raises(ConnectionClosed) as excinfo:
            extra.recv(timeout=10)
        assert excinfo.value.rcvd is not None and excinfo.value.rcvd.code == 4429
        # Another user is not affected.
        with open_ws(server, personas.smg_head) as other:
            RtClient(other)
        # A closed socket frees its place (once the server has handled the close).
        sockets[0].close()
        deadline = time.monotonic() + 10
        while True:
            with open_ws(server, user) as again:
                try:
                    assert RtClient(again).hello["user"] == user.pk
                    break
                except ConnectionClosed:
                    assert time.monotonic() < deadline, "the freed place was never given back"
            time.sleep(0.2)
        for ws in sockets[1:]:
            ws.send('{"type": "ping"}')
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
