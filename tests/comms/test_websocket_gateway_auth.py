"""The /ws/ endpoint: anonymous refused, logged-in accepted, foreign origin refused."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import recv_json


def test_a_logged_in_user_is_accepted(ws_connect, personas):
    ws = ws_connect(personas.smg_member)
    ws.send('{"type": "ping"}')
    frames = [recv_json(ws), recv_json(ws)]
    assert {"type": "pong"} in frames


def test_an_anonymous_client_is_refused(ws_connect, personas):
    # The consumer closes before accepting, which the server turns into a refused handshake.
    with pytest.raises(InvalidStatus) as excinfo:
        ws_connect(None)
    assert excinfo.value.response.status_code == 403


def test_a_foreign_origin_is_refused(ws_connect, personas):
    with pytest.raises(InvalidStatus) as excinfo:
        ws_connect(personas.smg_member, origin="https://evil.example")
    assert excinfo.value.response.status_code == 403
