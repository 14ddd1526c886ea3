"""A connection that dies leaves its groups, whatever killed it: the server process must not
stay subscribed in Redis (and keep the connection in memory) for a socket that is gone."""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from realtime.models import Event
from tests.realtime.helpers import RtClient

pytestmark = pytest.mark.django_db(transaction=True)


def subscribers(group: str) -> int:
    """Redis subscriptions to a group's pub/sub channel (channels_redis.pubsub's name)."""
    name = f"{settings.CHANNEL_PREFIX}__group__{group}"
    connection = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return dict(connection.pubsub_numsub(name))[name.encode()]
    finally:
        connection.close()


def wait_for_subscribers(group: str, expected: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = subscribers(group)
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def test_a_connection_killed_by_an_exception_leaves_its_groups(
    require_redis, asgi_server, ws_connect, personas
):
    user = personas.smg_member
    group = f"user.{user.pk}"
    client = RtClient(ws_connect(user))
    assert wait_for_subscribers(group, 1) == 1
    # A row the gateway cannot read (edited behind the application's back): resuming over it
    # raises inside the frame handler, which ends the connection with 1011 — the way the
    # RecursionError of a deeply nested frame did.
    Event.objects.create(type="notice.posted", data={}, groups=["unit.33"], audience="corrupt",
                         pushed_at=timezone.now())
    client.ws.send(json.dumps({"type": "resume", "after": 0}))
    with pytest.raises(ConnectionClosed) as excinfo:
        client.pump_until(lambda frame: False)
    assert excinfo.value.rcvd is not None and excinfo.value.rcvd.code == 1011
    assert wait_for_subscribers(group, 0) == 0
    assert wait_for_subscribers("unit.33", 0) == 0


def test_a_closed_connection_leaves_its_groups_and_another_keeps_them(
    require_redis, asgi_server, ws_connect, personas
):
    user = personas.smg_member
    group = f"user.{user.pk}"
    first = RtClient(ws_connect(user))
    second = RtClient(ws_connect(user))
    # One subscription per process, however many local connections need the group.
    assert wait_for_subscribers(group, 1) == 1
    first.ws.close()
    second.ws.send('{"type": "ping"}')
    assert second.pump_until(lambda frame: True) == {"type": "pong"}
    assert subscribers(group) == 1
    second.ws.close()
    assert wait_for_subscribers(group, 0) == 0
