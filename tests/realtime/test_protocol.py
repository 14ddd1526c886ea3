"""The gateway protocol against a real daphne process: every invalid frame kind gets an error
frame and the connection stays open; oversized frames close with 1009; the rate limit."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from channels_app import gateway
from tests.realtime.helpers import RtClient


def assert_still_open(client: RtClient) -> None:
    client.ws.send('{"type": "ping"}')
    assert client.pump_until(lambda f: f.get("type") in {"pong", "error"}) == {"type": "pong"}


def send_and_expect_error(client: RtClient, frame: str | bytes, code: str) -> dict:
    client.ws.send(frame)
    reply = client.pump_until(lambda f: True)
    assert reply["type"] == "error", reply
    assert reply["code"] == code, reply
    assert reply["message"]
    assert_still_open(client)
    return reply


def test_hello_ping_pong(ws_connect, personas):
    client = RtClient(ws_connect(personas.smg_member))
    assert client.hello["user"] == personas.smg_member.pk
    assert isinstance(client.hello["last"], int)
    assert_still_open(client)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "invalid_json"),
        ("", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"ping"', "invalid_frame"),
        ('{"kind": "ping"}', "missing_field"),
        ('{"type": 7}', "wrong_type"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "resume"}', "missing_field"),
        ('{"type": "resume", "after": "12"}', "wrong_type"),
        ('{"type": "resume", "after": true}', "wrong_type"),
        ('{"type": "resume", "after": -1}', "wrong_type"),
        ('{"type": "subscribe"}', "missing_field"),
        ('{"type": "subscribe", "weather": 1}', "unknown_topic"),
        (json.dumps({"type": "ping", "pad": "x" * (gateway.SOFT_FRAME_BYTES + 1)}), "too_large"),
        (b'{"type": "ping"}', "binary_frame"),
    ],
)
def test_an_invalid_frame_gets_an_error_and_the_connection_stays_open(
    ws_connect, personas, frame, code
):
    client = RtClient(ws_connect(personas.smg_member))
    send_and_expect_error(client, frame, code)


@pytest.mark.parametrize("size", [gateway.MAX_FRAME_BYTES + 1, 1024 * 1024])
def test_a_frame_over_64_kib_closes_with_1009(ws_connect, personas, size):
    client = RtClient(ws_connect(personas.smg_member))
    client.ws.send(json.dumps({"type": "ping", "pad": "x" * size}))
    with pytest.raises(ConnectionClosed) as excinfo:
        client.pump_until(lambda f: False)
    assert excinfo.value.rcvd is not None
    assert excinfo.value.rcvd.code == 1009


def test_a_frame_of_exactly_64_kib_is_not_closed(ws_connect, personas):
    client = RtClient(ws_connect(personas.smg_member))
    padding = gateway.MAX_FRAME_BYTES - len('{"type":"ping","pad":""}')
    frame = json.dumps({"type": "ping", "pad": "x" * padding}, separators=(",", ":"))
    assert len(frame.encode()) == gateway.MAX_FRAME_BYTES
    send_and_expect_error(client, frame, "too_large")


def test_a_thousand_frames_in_a_second_are_rate_limited_and_the_connection_survives(
    ws_connect, personas
):
    client = RtClient(ws_connect(personas.smg_member))
    for _ in range(1000):
        client.ws.send('{"type": "ping"}')
    replies = [client.recv() for _ in range(1000)]
    pongs = [r for r in replies if r == {"type": "pong"}]
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    assert len(pongs) + len(limited) == 1000
    # The burst is served, most of the flood is refused with an error frame each.
    assert gateway.RATE_BURST <= len(pongs) < 200
    assert len(limited) > 800
    # Still open: once the bucket refills, a ping is answered again.
    for _ in range(50):
        time.sleep(1 / gateway.RATE_PER_SECOND)
        client.ws.send('{"type": "ping"}')
        reply = client.recv()
        if reply == {"type": "pong"}:
            break
        assert reply["code"] == "rate_limited"
    else:
        pytest.fail("the connection never answered a ping again")
