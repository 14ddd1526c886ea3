"""Live events over a real WebSocket (daphne in its own process, `websockets` client).

Writes go through the server's JSON API over HTTP, so the server process itself emits and
pushes (this works with the in-memory channel layer too; with REDIS_URL set it goes through
Redis). Ordering per connection is FIFO, so "never reaches" is proven without waiting: each
socket reads until a sentinel event that was sent *after* the private one.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from accounts.tokens import token_create
from tests.channels_app.test_access import KINDS, MATRIX
from tests.conftest import recv_json


def api(server, user, method: str, path: str, payload: dict | None = None) -> dict:
    _token, secret = token_create(user=user, name="test", scopes=["read", "write"])
    request = urllib.request.Request(
        f"{server.url}/api/v1{path}", method=method,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def frames_until(ws, predicate) -> list[dict]:
    seen = []
    while True:
        frame = recv_json(ws, timeout=10)
        seen.append(frame)
        if predicate(frame):
            return seen


def created_threads(frames: list[dict]) -> set[int]:
    return {f["data"]["message"]["thread_id"] for f in frames
            if f.get("type") == "message.created"}


@pytest.fixture
def live(asgi_server, ws_connect, org, personas):
    from tests.channels_app.conftest import make_channels

    return asgi_server, ws_connect, make_channels(org, personas)


def test_each_socket_gets_exactly_the_events_of_what_its_user_reads(live, personas):
    server, ws_connect, chans = live
    sockets = {}
    for persona in MATRIX:
        ws = ws_connect(getattr(personas, persona))
        assert recv_json(ws)["type"] == "hello"
        sockets[persona] = ws
    posts = {
        "unit": (personas.smg_member, chans.unit_thread),
        "forum": (personas.solo_member, chans.forum_thread),
        "private": (personas.smg_author, chans.private_thread),
    }
    for kind in KINDS:
        user, thread = posts[kind]
        api(server, user, "POST", f"/threads/{thread.pk}/messages", {"body": f"live {kind}"})
    # Sentinels: each persona's own new private channel and thread, after the three posts.
    sentinel = {}
    for persona in MATRIX:
        user = getattr(personas, persona)
        channel = api(server, user, "POST", "/channels",
                      {"name": f"Sentinel {persona}", "kind": "private"})["channel"]
        thread = api(server, user, "POST", f"/channels/{channel['id']}/threads",
                     {"title": "sentinel", "body": "s"})["thread"]
        sentinel[persona] = thread["id"]
    threads = {"unit": chans.unit_thread.pk, "forum": chans.forum_thread.pk,
               "private": chans.private_thread.pk}
    for persona, ws in sockets.items():
        frames = frames_until(ws, lambda f, p=persona: f.get("type") == "message.created"
                              and f["data"]["message"]["thread_id"] == sentinel[p])
        expected = {threads[k] for k, ok in zip(KINDS, MATRIX[persona], strict=True) if ok}
        assert created_threads(frames) - {sentinel[persona]} == expected, persona
        # Nothing of another persona's private sentinel leaked either.
        others = {t for p, t in sentinel.items() if p != persona}
        assert not created_threads(frames) & others, persona


def test_an_invited_user_starts_receiving_without_reconnecting(live, personas):
    server, ws_connect, chans = live
    # Someone the inviter may see in the directory (same regency, not yet a reader).
    ws = ws_connect(personas.smg_dinkes_member)
    assert recv_json(ws)["type"] == "hello"
    api(server, personas.smg_author, "POST", f"/channels/{chans.private.pk}/members",
        {"user_id": personas.smg_dinkes_member.pk})
    api(server, personas.smg_author, "POST", f"/threads/{chans.private_thread.pk}/messages",
        {"body": "selamat datang"})
    frames = frames_until(ws, lambda f: f.get("type") == "message.created")
    assert frames[-1]["data"]["message"]["body"] == "selamat datang"


def test_mention_notifies_the_mentioned_users_socket(live, personas):
    server, ws_connect, chans = live
    ws = ws_connect(personas.smg_admin)
    assert recv_json(ws)["type"] == "hello"
    api(server, personas.smg_member, "POST", f"/threads/{chans.unit_thread.pk}/messages",
        {"body": f"tolong dicek @{personas.smg_admin.nip}"})
    frames = frames_until(ws, lambda f: f.get("type") == "notification.created")
    assert "ASN Semarang" in frames[-1]["data"]["text"]
