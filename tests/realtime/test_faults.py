"""Faults, each ending with every client holding exactly the committed events it may see (no
gap) and no event sent twice on one connection: a server killed during a burst; Redis stopped
while events are emitted; a client that stops reading; two concurrent transactions."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from django.db import connections, transaction
from websockets.exceptions import ConnectionClosed

from comms.env import redis_channel_prefix
from realtime.models import Event
from realtime.outbox import emit
from tests.conftest import free_port, need_service
from tests.realtime.helpers import (
    PROVINCE_WIDE,
    SEMARANG_ONLY,
    RtClient,
    emit_committed,
    expected_ids,
    finish,
    open_ws,
)


def reconnect(client: RtClient, server, user, attempts: int = 100) -> None:
    """Reconnect like the browser (retry until the server answers), then resume."""
    for _ in range(attempts):
        try:
            ws = open_ws(server, user)
        except OSError:
            time.sleep(0.1)
            continue
        client.reconnect(ws)
        return
    pytest.fail("the server never came back")


def test_server_killed_during_a_burst_clients_resume_without_gap_or_duplicate(
    require_redis, start_asgi_server, personas
):
    server = start_asgi_server()
    users = [personas.smg_member, personas.smg_head, personas.solo_member]
    clients = [RtClient(open_ws(server, user)) for user in users]
    burst_done = threading.Event()

    def burst() -> None:
        try:
            for number in range(150):
                shape = SEMARANG_ONLY if number % 3 == 0 else PROVINCE_WIDE
                emit_committed(type="notice.posted", data={"n": number}, **shape)
        finally:
            connections.close_all()
            burst_done.set()

    publisher = threading.Thread(target=burst)
    publisher.start()
    # Kill -9 once the first client is well into the burst.
    clients[0].pump_until(lambda f: len(clients[0].events) >= 20, timeout=60)
    server.kill()
    for client in clients:
        with pytest.raises(ConnectionClosed):
            client.pump_until(lambda f: False, timeout=30)
    server.start()
    for client, user in zip(clients, users, strict=True):
        reconnect(client, server, user)
    publisher.join(120)
    assert burst_done.is_set()
    marker = finish(clients)
    for client, user in zip(clients, users, strict=True):
        assert client.ids() == expected_ids(user, until=marker)
        assert client.wire_duplicates == 0
    assert len(clients[0].ids()) == 151 and len(clients[2].ids()) == 101


class PrivateRedis:
    """A redis-server of this test alone (never the shared one), stopped and started at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path("/tmp"),
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def private_redis():
    need_service("redis-server", shutil.which("redis-server") is not None,
                 "the redis-server binary is not installed")
    instance = PrivateRedis()
    instance.start()
    yield instance
    instance.stop()


def test_redis_stopped_while_events_are_emitted_the_relay_delivers_them(
    private_redis, start_asgi_server, personas, settings
):
    server = start_asgi_server(REDIS_URL=private_redis.url, CHANNEL_LAYER="pubsub")
    # This process (the "service" emitting) uses the same private Redis.
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [{"address": private_redis.url, "socket_timeout": None}],
                   "prefix": redis_channel_prefix(private_redis.url)},
    }}
    client = RtClient(open_ws(server, personas.smg_member))
    first = emit_committed(type="notice.posted", data={"n": 0}, **PROVINCE_WIDE).id
    client.wait_for([first])

    private_redis.stop()
    during = [emit_committed(type="notice.posted", data={"n": n}, **PROVINCE_WIDE).id
              for n in range(1, 6)]
    assert set(Event.objects.filter(pushed_at=None).values_list("id", flat=True)) == set(during)
    private_redis.start()

    # No resume is sent: the events arrive live, pushed by the server's relay loop.
    client.wait_for(during, timeout=60)
    assert client.ids() == [first, *during]
    assert client.wire_duplicates == 0
    # The relay marks an event pushed right after its push; the client may be quicker.
    for _ in range(100):
        if not Event.objects.filter(pushed_at=None).exists():
            break
        time.sleep(0.1)
    else:
        pytest.fail("the relay left events unpushed")


def test_a_client_that_stops_reading_recovers_everything_on_resume(
    require_redis, start_asgi_server, personas
):
    server = start_asgi_server()
    user = personas.smg_member
    # Small client queues: once they are full the client stops reading from the socket.
    stalled_same = RtClient(open_ws(server, user, max_queue=2))
    stalled_drop = RtClient(open_ws(server, user, max_queue=2))
    ids = [emit_committed(type="notice.posted", data={"n": n}, **PROVINCE_WIDE).id
           for n in range(150)]
    # One resumes on the same connection (the server must not send anything twice)…
    stalled_same.resume(stalled_same.cursor)
    stalled_same.wait_for(ids, timeout=60)
    assert stalled_same.ids() == ids
    assert stalled_same.wire_duplicates == 0
    # …the other gives up its connection (a phone going to sleep) and resumes on a new one.
    stalled_drop.ws.close()
    stalled_drop.reconnect(open_ws(server, user))
    stalled_drop.wait_for(ids, timeout=60)
    assert stalled_drop.ids() == ids
    assert stalled_drop.wire_duplicates == 0


def test_two_concurrent_transactions_committing_out_of_id_order_reach_clients(
    require_postgres, require_redis, start_asgi_server, personas
):
    server = start_asgi_server()
    live = RtClient(open_ws(server, personas.smg_member))
    a_emitted, a_may_commit = threading.Event(), threading.Event()
    results: dict[str, int] = {}

    def transaction_a() -> None:
        try:
            with transaction.atomic():
                results["a"] = emit(type="a.b", data={"tx": "A"}, **PROVINCE_WIDE).id
                a_emitted.set()
                a_may_commit.wait(30)
        finally:
            connections.close_all()

    def transaction_b() -> None:
        try:
            with transaction.atomic():
                results["b"] = emit(type="a.b", data={"tx": "B"}, **PROVINCE_WIDE).id
        finally:
            connections.close_all()

    thread_a = threading.Thread(target=transaction_a)
    thread_a.start()
    assert a_emitted.wait(30)
    thread_b = threading.Thread(target=transaction_b)
    thread_b.start()
    # B was started second but is asked to commit first; a client resuming meanwhile, after
    # whatever is visible, must not skip A afterwards.
    thread_b.join(0.5)
    resumer = RtClient(open_ws(server, personas.smg_member), resume_after=live.cursor)
    a_may_commit.set()
    thread_a.join(30)
    thread_b.join(30)
    both = [results["a"], results["b"]]
    assert results["a"] < results["b"]
    for client in (live, resumer):
        client.wait_for(both)
    marker = finish([live, resumer])
    assert live.ids() == [*both, marker]
    assert resumer.ids() == [*both, marker]
    assert live.wire_duplicates == resumer.wire_duplicates == 0
