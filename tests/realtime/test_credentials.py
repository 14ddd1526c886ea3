"""A WebSocket lives no longer than the credentials it was opened with: a revoked token, a
password change or reset (`session.ended` from realtime.outbox.emit_credentials_revoked) and a
token's expiry close it with 4401 within seconds; a token that stopped being usable cannot act
even in the moment before its socket is closed. Against a real daphne process; an event emitted
in the test process reaches it through Redis, as in production."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from accounts.models import ApiToken
from accounts.services import api_token_revoke
from accounts.tokens import token_create
from announcements.receipts.models import Receipt
from realtime.audience import SESSION_ENDED, session_hash
from realtime.models import Event
from realtime.outbox import emit_credentials_revoked, session_end_applies
from tests.conftest import enable_mfa, session_cookie_for
from tests.realtime.helpers import RtClient
from tests.receipts.conftest import publish_ack

pytestmark = pytest.mark.django_db(transaction=True)


def bearer_socket(server, secret: str):
    return connect(server.ws_url, open_timeout=10,
                   additional_headers={"Authorization": f"Bearer {secret}"})


def cookie_socket(server, session_key: str):
    return connect(server.ws_url, origin=server.url, open_timeout=10,
                   additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"})


def close_code(client: RtClient, timeout: float = 10) -> int:
    """Read until the server closes; its close code (TimeoutError if it never does)."""
    with pytest.raises(ConnectionClosed) as excinfo:
        client.pump_until(lambda frame: False, timeout=timeout)
    assert excinfo.value.rcvd is not None
    return excinfo.value.rcvd.code


def assert_open(client: RtClient) -> None:
    client.ws.send('{"type": "ping"}')
    assert client.pump_until(lambda frame: frame.get("type") == "pong") == {"type": "pong"}


def test_revoking_a_token_closes_its_sockets_and_no_other(require_redis, asgi_server, personas):
    user = personas.smg_member
    revoked, revoked_secret = token_create(user=user, name="bot", scopes=["read", "write"])
    _, kept_secret = token_create(user=user, name="lain", scopes=["read"])
    with bearer_socket(asgi_server, revoked_secret) as a, \
            bearer_socket(asgi_server, revoked_secret) as a2, \
            bearer_socket(asgi_server, kept_secret) as b, \
            cookie_socket(asgi_server, session_cookie_for(user)) as browser:
        clients = [RtClient(ws) for ws in (a, a2, b, browser)]
        # The accounts service emits the token's end (emit_credentials_revoked) after commit.
        api_token_revoke(actor=user, token_id=revoked.pk)
        assert close_code(clients[0]) == 4401
        assert close_code(clients[1]) == 4401
        assert_open(clients[2])
        assert_open(clients[3])
    with pytest.raises(InvalidStatus):
        bearer_socket(asgi_server, revoked_secret)


def test_a_password_change_closes_the_other_sessions_sockets(require_redis, asgi_server, personas):
    user = personas.smg_member
    here, elsewhere = session_cookie_for(user), session_cookie_for(user)
    _, secret = token_create(user=user, name="bot", scopes=["read"])
    with cookie_socket(asgi_server, here) as this_tab, \
            cookie_socket(asgi_server, elsewhere) as other_device, \
            bearer_socket(asgi_server, secret) as api_client:
        current, other, api = (RtClient(ws) for ws in (this_tab, other_device, api_client))
        # Django keeps the session that changed the password (update_session_auth_hash) and
        # invalidates the others; the accounts service names those to the gateway.
        with transaction.atomic():
            user.set_password("kata-sandi-baru-2026")
            user.save()
            emit_credentials_revoked(user_id=user.pk, session_hashes=[session_hash(elsewhere)])
        assert close_code(other) == 4401
        assert_open(current)
        assert_open(api)
    # The old session cannot open a new socket either (Django's session hash check).
    with pytest.raises(InvalidStatus):
        cookie_socket(asgi_server, elsewhere)


def test_a_password_reset_closes_every_session_socket(require_redis, asgi_server, personas):
    user = personas.smg_member
    keys = [session_cookie_for(user), session_cookie_for(user)]
    with cookie_socket(asgi_server, keys[0]) as first, \
            cookie_socket(asgi_server, keys[1]) as second:
        clients = [RtClient(first), RtClient(second)]
        with transaction.atomic():
            user.set_password("kata-sandi-baru-2026")
            user.save()
            emit_credentials_revoked(user_id=user.pk,
                                     session_hashes=[session_hash(key) for key in keys])
        assert [close_code(client) for client in clients] == [4401, 4401]


def test_a_token_socket_closes_when_the_token_expires(asgi_server, personas):
    token, secret = token_create(user=personas.smg_member, name="bot", scopes=["read"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(seconds=3))
    with bearer_socket(asgi_server, secret) as ws:
        client = RtClient(ws)
        assert_open(client)
        # No event announces an expiry: the connection's own timer closes it.
        assert close_code(client, timeout=15) == 4401


@pytest.mark.parametrize("change", ["revoked", "expired"])
def test_a_token_that_is_no_longer_usable_cannot_act_before_its_socket_closes(
    asgi_server, personas, change
):
    enable_mfa(personas.smg_signer)
    announcement = publish_ack(personas)
    token, secret = token_create(user=personas.smg_member, name="bot", scopes=["read", "write"])
    with bearer_socket(asgi_server, secret) as ws:
        client = RtClient(ws)
        # Behind the gateway's back: no session.ended reaches the socket (an event not yet
        # pushed, Redis down), so only the check before acting can stop it.
        now = timezone.now()
        values = {"revoked_at": now} if change == "revoked" else {"expires_at": now}
        ApiToken.objects.filter(pk=token.pk).update(**values)
        ws.send(json.dumps({"type": "ack", "announcement": announcement.pk, "version": 1}))
        assert close_code(client) == 4401
    receipt = Receipt.objects.get(announcement=announcement, user=personas.smg_member)
    assert receipt.acknowledged_at is None


def test_credentials_revoked_events_name_one_session_or_token_each(personas):
    user = personas.smg_member
    with transaction.atomic():
        events = emit_credentials_revoked(user_id=user.pk, session_hashes=["a" * 32],
                                          token_ids=[7, 8])
    stored = Event.objects.filter(id__in=[e.id for e in events]).order_by("id")
    assert [(e.type, e.data, e.groups, e.audience) for e in stored] == [
        (SESSION_ENDED, {"session": "a" * 32, "token": None}, [f"user.{user.pk}"],
         {"users": [user.pk]}),
        (SESSION_ENDED, {"session": None, "token": 7}, [f"user.{user.pk}"], {"users": [user.pk]}),
        (SESSION_ENDED, {"session": None, "token": 8}, [f"user.{user.pk}"], {"users": [user.pk]}),
    ]
    assert emit_credentials_revoked(user_id=user.pk) == []  # never "every socket" by accident
    with pytest.raises(ValueError):
        emit_credentials_revoked(user_id=user.pk, token_ids=["7"])


@pytest.mark.parametrize(
    ("data", "session", "token", "ends"),
    [
        ({"session": None}, "s1", None, True),  # logout everywhere, deactivation
        ({"session": None}, None, 7, True),
        ({"session": "s1"}, "s1", None, True),  # one session's logout
        ({"session": "s1"}, "s2", None, False),
        ({"session": "s1"}, None, 7, False),
        ({"session": None, "token": 7}, None, 7, True),
        ({"session": None, "token": 7}, None, 8, False),
        ({"session": None, "token": 7}, "s1", None, False),
    ],
)
def test_which_sockets_a_session_ended_event_closes(data, session, token, ends):
    assert session_end_applies(data, session=session, token=token) is ends
