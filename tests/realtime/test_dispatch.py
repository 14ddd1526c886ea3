"""The per-process dispatcher (realtime.dispatch): one layer subscription per group and
process, per-connection filtering, holding live events during a resume, a client that stops
reading, and no leak when connections go; the connection state query count; SentIds."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import redis
from django.db import connections

from accounts.models import User
from comms.env import redis_channel_prefix
from realtime.dispatch import SENT_WINDOW, SentIds
from realtime.gateway import gateway_state_for
from tests.realtime.helpers import (
    PROVINCE_WIDE,
    SEMARANG_ONLY,
    RtClient,
    emit_committed,
    expected_ids,
    finish,
    open_ws,
)


@pytest.fixture
def core_layer(require_redis, settings):
    """This process and the servers on Channels' core Redis layer, whose groups are sorted
    sets in Redis: their size is the number of layer channels subscribed to a group."""
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": require_redis, "socket_timeout": None}],
                   "prefix": redis_channel_prefix(require_redis)},
    }}
    client = redis.Redis.from_url(require_redis)
    prefix = redis_channel_prefix(require_redis)
    yield lambda group: client.zcard(f"{prefix}:group:{group}")
    client.close()


def wait_until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached")
        time.sleep(0.1)


def test_one_layer_subscription_per_group_and_process_and_none_left_after_the_last_leaves(
    core_layer, start_asgi_server, personas
):
    members_of = core_layer
    server_a = start_asgi_server(CHANNEL_LAYER="core")
    server_b = start_asgi_server(CHANNEL_LAYER="core")
    on_a = [RtClient(open_ws(server_a, personas.smg_member)) for _ in range(12)]
    on_b = [RtClient(open_ws(server_b, personas.smg_head)) for _ in range(3)]
    # 15 connections in unit.33, two processes: two members of the group in the layer.
    assert members_of("unit.33") == 2
    event = emit_committed(type="notice.posted", data={"n": 1}, **PROVINCE_WIDE).id
    for client in on_a + on_b:
        client.wait_for([event])
    for client in on_b:
        client.ws.close()
    wait_until(lambda: members_of("unit.33") == 1)
    for client in on_a[:-1]:
        client.ws.close()
    # One local connection left: the group stays joined.
    later = emit_committed(type="notice.posted", data={"n": 2}, **PROVINCE_WIDE).id
    on_a[-1].wait_for([later])
    assert members_of("unit.33") == 1
    on_a[-1].ws.close()
    # The last connection's groups are left one after the other: wait for all of them.
    own = f"user.{personas.smg_member.pk}"
    wait_until(lambda: members_of("unit.33") == 0 and members_of(own) == 0)


def test_many_connections_of_one_process_each_get_what_their_audience_allows(
    require_redis, asgi_server, personas
):
    insiders = [RtClient(open_ws(asgi_server, personas.smg_member)) for _ in range(8)]
    insiders.append(RtClient(open_ws(asgi_server, personas.smg_dinkes_member)))
    outsiders = [RtClient(open_ws(asgi_server, personas.solo_member)) for _ in range(3)]
    for_smg = [
        emit_committed(type="notice.posted", data={"n": n}, **SEMARANG_ONLY).id
        for n in range(5)
    ]
    marker = finish(insiders + outsiders)
    for client in insiders:
        assert client.ids() == [*for_smg, marker]
        assert client.wire_duplicates == 0
    for client in outsiders:
        assert client.ids() == [marker]


def test_resumes_during_a_burst_lose_and_duplicate_nothing(
    require_redis, asgi_server, personas
):
    user = personas.smg_member
    start = RtClient(open_ws(asgi_server, user)).cursor
    resumer = RtClient(open_ws(asgi_server, user))
    quiet = RtClient(open_ws(asgi_server, user))
    emitted: list[int] = []
    done = threading.Event()

    def burst() -> None:
        try:
            for number in range(120):
                shape = SEMARANG_ONLY if number % 2 else PROVINCE_WIDE
                emitted.append(
                    emit_committed(type="notice.posted", data={"n": number}, **shape).id
                )
        finally:
            connections.close_all()
            done.set()

    publisher = threading.Thread(target=burst)
    publisher.start()
    # Resume from the start after every 15 live events (the rate limit allows that many
    # frames): each resume re-covers what was already sent live, and the live events held
    # while it runs are filtered afterwards.
    for seen in range(15, 120, 15):
        resumer.pump_until(lambda frame, seen=seen: len(resumer.events) >= seen, timeout=60)
        resumer.resume(start)
    publisher.join(120)
    assert done.is_set()
    marker = finish([resumer, quiet])
    assert resumer.ids() == quiet.ids() == expected_ids(user, after=start, until=marker)
    assert len(emitted) == 120 and set(emitted) <= set(resumer.ids())
    assert resumer.wire_duplicates == quiet.wire_duplicates == 0


def test_a_client_that_stops_reading_does_not_hold_up_the_others(
    require_redis, start_asgi_server, personas
):
    # uvicorn waits for a client's socket to drain before it takes another frame for it.
    server = start_asgi_server("uvicorn")
    user = personas.smg_member
    # A small receive buffer and a client queue of 2 frames: this client stops reading at once
    # (no compression: the padding below must reach the socket at its size).
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    address = urlsplit(server.url)
    sock.connect((address.hostname, address.port))
    stuck = RtClient(open_ws(server, user, sock=sock, max_queue=2, max_size=2**20,
                             compression=None))
    reader = RtClient(open_ws(server, user, max_size=2**20, compression=None))
    # ~8 MB of frames: more than the kernel buffers (4 MiB) and uvicorn's 64 KiB can take.
    padding = "x" * 64_000
    ids = [
        emit_committed(type="notice.posted", data={"n": n, "pad": padding},
                       **PROVINCE_WIDE).id
        for n in range(125)
    ]
    marker = finish([reader])
    assert reader.ids() == [*ids, marker]
    # The stuck client reads again: it gets everything, once, in order.
    stuck.wait_for([*ids, marker], timeout=120)
    assert stuck.ids() == [*ids, marker]
    assert stuck.wire_duplicates == 0


def test_the_connection_state_reads_memberships_once(
    db, personas, django_assert_num_queries
):
    # Memberships with the home unit, the readable channels, the readable clarification
    # threads, the newest event id: one query each, however many memberships there are.
    for persona in (personas.smg_member, personas.smg_signer):
        user = User.objects.get(pk=persona.pk)
        with django_assert_num_queries(5):
            state = gateway_state_for(user)
        assert f"user.{user.pk}" in state.groups


def test_sent_ids_remember_a_window_below_the_largest_id():
    sent = SentIds()
    assert 1 not in sent
    for event_id in (10, 12, 11, 3000):
        sent.add(event_id)
    assert 10 in sent and 11 in sent and 12 in sent and 3000 in sent
    assert 13 not in sent and 2999 not in sent and 3001 not in sent
    # A late event (pushed after a larger one) is not mistaken for a sent one, and is kept.
    sent.add(2990)
    assert 2990 in sent
    assert sorted(sent) == [10, 11, 12, 2990, 3000]
    # Beyond the window ids are forgotten (a re-push that late is sent again, never lost).
    sent.add(3000 + SENT_WINDOW - 1)
    assert 3000 in sent and 2990 not in sent and 12 not in sent
    assert sorted(sent) == [3000, 3000 + SENT_WINDOW - 1]
