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



def assert_refused(ws_connect, user, origin: str, server=None) -> None:
    with pytest.raises(InvalidStatus) as excinfo:
        ws_connect(user, origin=origin, server=server)
    assert excinfo.value.response.status_code == 403, origin


def test_an_origin_that_differs_in_scheme_port_or_host_is_refused(
    ws_connect, asgi_server, personas
):
    # Channels' validator compared host names only: all of these but "null" were accepted.
    port = asgi_server.port
    for origin in (
        f"http://127.0.0.1:{port + 1}",  # same host, another port: another site
        f"https://127.0.0.1:{port}",  # same host and port over https: another origin
        f"http://localhost:{port}",  # an allowed host name, not the one the socket is on
        f"http://127.0.0.1:{port}/evil",  # not an origin at all
        "null",
    ):
        assert_refused(ws_connect, personas.smg_member, origin)
    # The socket's own origin is still accepted.
    assert recv_json(ws_connect(personas.smg_member, origin=asgi_server.url))["type"] == "hello"


def test_site_url_and_trusted_origins_are_accepted_and_matched_whole(
    ws_connect, start_asgi_server, personas
):
    server = start_asgi_server(
        SITE_URL="https://comms.jatengprov.go.id",
        CSRF_TRUSTED_ORIGINS="http://127.0.0.1:9,https://*.mitra.jatengprov.go.id",
    )
    for origin in (server.url, "https://comms.jatengprov.go.id", "https://comms.jatengprov.go.id:443",
                   "http://127.0.0.1:9", "https://portal.mitra.jatengprov.go.id"):
        ws = ws_connect(personas.smg_member, origin=origin, server=server)
        assert recv_json(ws)["type"] == "hello", origin
    for origin in ("https://comms.jatengprov.go.id:8443", "http://comms.jatengprov.go.id",
                   "http://127.0.0.1:90", "https://portal.mitra.jatengprov.go.id:444",
                   "http://portal.mitra.jatengprov.go.id", "https://mitra.jatengprov.go.id.evil"):
        assert_refused(ws_connect, personas.smg_member, origin, server=server)
