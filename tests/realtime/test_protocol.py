"""The gateway protocol against a real daphne process: every invalid frame kind gets an error
frame and the connection stays open; oversized frames close with 1009; the rate limit."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed

from realtime import gateway
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


NESTED_FRAMES = {
    "arrays": "[" * 1000 + "]" * 1000,
    "objects": '{"a":' * 1000 + "1" + "}" * 1000,
    "inside-a-frame": '{"type": "ping", "x": ' + "[" * 1000 + "]" * 1000 + "}",
    "just-over-the-limit": '{"type": "resume", "after": 1, "x": '
    + "[" * gateway.MAX_FRAME_DEPTH + "]" * gateway.MAX_FRAME_DEPTH + "}",
}


def test_a_deeply_nested_frame_gets_an_error_and_the_connection_stays_open(ws_connect, personas):
    # ~1,000 levels in 2 KB raised RecursionError in the parser, closed the socket with 1011
    # and left the connection's groups behind (see test_cleanup.py).
    client = RtClient(ws_connect(personas.smg_member))
    for name, frame in NESTED_FRAMES.items():
        assert len(frame) < gateway.SOFT_FRAME_BYTES, name
        send_and_expect_error(client, frame, "too_deep")


def test_nesting_up_to_the_limit_and_brackets_inside_strings_are_fine(ws_connect, personas):
    client = RtClient(ws_connect(personas.smg_member))
    depth = gateway.MAX_FRAME_DEPTH - 1  # the frame object itself is the first level
    at_the_limit = '{"type": "ping", "x": ' + "[" * depth + "]" * depth + "}"
    in_strings = json.dumps({"type": "ping", "text": "[{" * 500 + '\\"[' * 100})
    for frame in (at_the_limit, in_strings):
        client.ws.send(frame)
        assert client.pump_until(lambda f: True) == {"type": "pong"}


BAD_CHARACTER_FRAMES = {
    "value": '{"type": "ping", "note": "a\\u0000b"}',
    "type": '{"type": "resume\\u0000", "after": 1}',
    "key": '{"type": "ping", "a\\u0000": 1}',
    "nested": '{"type": "ping", "list": ["ok", ["x\\u0000"]]}',
    "raw": '{"type": "ping"}\x00',
    "lone-surrogate": '{"type": "ping", "note": "\\ud800"}',
}


def test_a_nul_in_any_string_of_a_frame_is_refused(ws_connect, personas):
    # PostgreSQL refuses NUL in text: an action passing it on failed with a DataError.
    client = RtClient(ws_connect(personas.smg_member))
    for frame in BAD_CHARACTER_FRAMES.values():
        send_and_expect_error(client, frame, "invalid_characters")
