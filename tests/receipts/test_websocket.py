"""Acknowledging over the WebSocket, live statistics, delivery on push and the streamed CSV —
against a real daphne process (tests/conftest.py: asgi_server, ws_connect)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import urllib.request

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.models import ApiToken
from announcements import services
from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt
from tests.announcements.conftest import make_draft
from tests.conftest import session_cookie_for
from tests.realtime.helpers import RtClient
from tests.receipts.conftest import publish_ack

pytestmark = pytest.mark.django_db(transaction=True)


def token_for(user, *scopes: str) -> str:
    secret = "cmt_" + hashlib.sha256(f"ack{user.pk}{scopes}".encode()).hexdigest()[:32]
    ApiToken.objects.create(user=user, name="uji", token_hash=ApiToken.hash_secret(secret),
                            hint=secret[:8], scopes=list(scopes))
    return secret


def http(server, method: str, path: str, *, token: str | None = None, cookie_user=None,
         body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie_user is not None:
        headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_cookie_for(cookie_user)}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def expect(client: RtClient, frame: dict, kind: str) -> dict:
    client.ws.send(json.dumps(frame))
    reply = client.pump_until(lambda f: f.get("type") in {kind, "error"})
    return reply


def assert_still_open(client: RtClient) -> None:
    assert expect(client, {"type": "ping"}, "pong") == {"type": "pong"}


def test_ack_over_the_websocket_is_idempotent(ws_connect, p):
    ann = publish_ack(p)
    client = RtClient(ws_connect(p.smg_member))
    reply = expect(client, {"type": "ack", "announcement": ann.pk, "version": 1}, "acked")
    assert reply["type"] == "acked" and reply["version"] == 1 and reply["changed"] is True
    acked_at = Receipt.objects.get(announcement=ann, user=p.smg_member).acknowledged_at
    assert acked_at is not None
    again = expect(client, {"type": "ack", "announcement": ann.pk, "version": 1}, "acked")
    assert again["changed"] is False
    assert Receipt.objects.get(announcement=ann, user=p.smg_member).acknowledged_at == acked_at


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "ack"}, "missing_field"),
        ({"type": "ack", "announcement": "{ann}"}, "missing_field"),
        ({"type": "ack", "announcement": "7", "version": 1}, "wrong_type"),
        ({"type": "ack", "announcement": "{ann}", "version": True}, "wrong_type"),
        ({"type": "ack", "announcement": "{ann}", "version": 1.5}, "wrong_type"),
        ({"type": "ack", "announcement": "{ann}", "version": 9}, "unknown_version"),
        ({"type": "ack", "announcement": 999999, "version": 1}, "not_found"),
    ],
)
def test_a_bad_ack_frame_gets_an_error_frame_and_the_socket_stays_open(ws_connect, p, frame,
                                                                        code):
    ann = publish_ack(p)
    frame = {k: (ann.pk if v == "{ann}" else v) for k, v in frame.items()}
    client = RtClient(ws_connect(p.smg_member))
    reply = expect(client, frame, "acked")
    assert reply["type"] == "error" and reply["code"] == code and reply["message"], reply
    assert_still_open(client)
    assert Receipt.objects.get(announcement=ann, user=p.smg_member).acknowledged_at is None


def test_a_non_recipient_cannot_ack_or_watch_statistics(ws_connect, p):
    ann = publish_ack(p)
    client = RtClient(ws_connect(p.solo_member))
    assert expect(client, {"type": "ack", "announcement": ann.pk, "version": 1},
                  "acked")["code"] == "not_found"
    assert expect(client, {"type": "subscribe", "stats": ann.pk},
                  "subscribed")["code"] == "not_found"
    assert_still_open(client)


def test_the_issuer_watching_statistics_sees_an_acknowledgement_made_over_http(
        ws_connect, asgi_server, p):
    ann = publish_ack(p)
    issuer = RtClient(ws_connect(p.smg_author))
    assert expect(issuer, {"type": "subscribe", "stats": ann.pk}, "subscribed") == {
        "type": "subscribed", "stats": ann.pk}
    token = token_for(p.smg_dinkes_member, "read", "write")
    # The publication's own summary closed the one-second gate (shared through Redis, when
    # there is one); the next second has come.
    cache.delete(receipts._gate_key(ann.pk))
    status, _headers, body = http(asgi_server, "POST", f"/api/v1/announcements/{ann.pk}/ack",
                                  token=token, body={"version": 1})
    assert status == 200, body
    event = issuer.pump_until(lambda f: f.get("type") == "receipt.summary")
    assert event["data"] == {"announcement": ann.pk, "total": 7, "delivered": 1, "read": 1,
                             "acknowledged": 1}


def test_a_push_of_the_announcement_marks_it_delivered(ws_connect, asgi_server, p):
    draft = make_draft(p.smg_author, requires_ack=True)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    member = RtClient(ws_connect(p.smg_member))
    token = token_for(p.smg_signer, "read", "write", "publish")
    # Published inside the server, so its event reaches the member's socket through the
    # server's channel layer (in memory, or Redis).
    status, _h, body = http(asgi_server, "POST", f"/api/v1/announcements/{draft.pk}/publish",
                            token=token)
    assert status == 200, body
    event = member.pump_until(lambda f: f.get("type") == "announcement.published")
    assert event["data"]["id"] == draft.pk
    receipt = Receipt.objects.get(announcement_id=draft.pk, user=p.smg_member)
    deadline = time.monotonic() + 15
    while receipt.delivered_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
        receipt.refresh_from_db()
    assert receipt.delivered_at is not None and receipt.read_at is None
    # Nobody else's receipt was touched by this socket's delivery.
    assert not Receipt.objects.filter(announcement_id=draft.pk).exclude(
        user=p.smg_member).exclude(delivered_at=None).exists()


def test_the_csv_streams_through_the_asgi_server(asgi_server, p):
    ann = publish_ack(p)
    status, headers, body = http(asgi_server, "GET", f"/pengumuman/{ann.pk}/tanda-terima.csv",
                                 cookie_user=p.smg_author)
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][0] == "nip" and len(rows) - 1 == ann.receipts.count()
    status, _h, _b = http(asgi_server, "GET", f"/pengumuman/{ann.pk}/tanda-terima.csv",
                          cookie_user=p.solo_member)
    assert status == 404
