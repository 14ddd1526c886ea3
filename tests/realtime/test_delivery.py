"""Delivery through real server processes sharing Redis: cross-process, access, session end,
bearer tokens, re-subscription, uvicorn."""

from __future__ import annotations

import json
import time
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from accounts.tokens import token_create
from announcements import services as announcement_services
from realtime.audience import SUBSCRIPTION_CHANGED
from tests.announcements.conftest import content, enable_mfa
from tests.conftest import session_cookie_for
from tests.realtime.helpers import RtClient, emit_committed


def http_json(method: str, url: str, *, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url, method=method, data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def publish_over_http(server, personas, **overrides) -> int:
    """A draft written and submitted here, then signed and published by a request to
    `server`: the event is emitted by that server process."""
    enable_mfa(personas.smg_signer)
    draft = announcement_services.announcement_create(
        actor=personas.smg_author, issuer_code="33.74.DISKOMINFO", content=content(**overrides)
    )
    announcement_services.announcement_submit(actor=personas.smg_author, announcement_id=draft.pk)
    _, secret = token_create(user=personas.smg_signer, name="terbit",
                             scopes=["read", "write", "publish"])
    http_json("POST", f"{server.url}/api/v1/announcements/{draft.pk}/publish", token=secret)
    return draft.pk


def finish_with_marker(clients: list[RtClient]) -> int:
    """An event every client may see: once it arrived, nothing sent before it is in flight."""
    marker = emit_committed(type="test.marker", data={}, groups=["unit.33"]).id
    for client in clients:
        client.wait_for([marker])
    return marker


def test_a_client_on_process_a_receives_a_publication_served_by_process_b(
    require_redis, start_asgi_server, ws_connect, personas
):
    server_a, server_b = start_asgi_server(), start_asgi_server()
    reader = RtClient(ws_connect(personas.smg_member, server=server_a))
    outsider = RtClient(ws_connect(personas.solo_member, server=server_a))
    announcement_id = publish_over_http(server_b, personas, title="Rapat koordinasi SPBE")
    frame = reader.pump_until(lambda f: f.get("type") == "announcement.published")
    assert frame["data"]["id"] == announcement_id
    assert frame["data"]["title"] == "Rapat koordinasi SPBE"
    marker = finish_with_marker([outsider])
    # Surakarta shares the province group with Semarang but is not in the audience.
    assert outsider.ids() == [marker]


def test_users_of_two_regencies_on_the_same_groups_see_only_their_events(
    require_redis, asgi_server, ws_connect, personas
):
    smg = RtClient(ws_connect(personas.smg_member))
    solo = RtClient(ws_connect(personas.solo_member))
    smg_dinkes = RtClient(ws_connect(personas.smg_dinkes_member))
    for_smg = emit_committed(type="notice.posted", data={"n": 1}, groups=["unit.33"],
                             audience={"units": ["33.74"], "subunits": True}).id
    for_solo = emit_committed(type="notice.posted", data={"n": 2}, groups=["unit.33"],
                              audience={"units": ["33.72"], "subunits": True}).id
    smg_group_only = emit_committed(type="notice.posted", data={"n": 3},
                                    groups=["unit.33.74"]).id
    smg_diskominfo_members = emit_committed(
        type="notice.posted", data={"n": 4}, groups=["unit.33.74.DISKOMINFO"],
        audience={"units": ["33.74.DISKOMINFO"], "roles": ["member"]},
    ).id
    solo_id = personas.solo_member.pk
    personal = emit_committed(type="receipt.summary", data={}, groups=[f"user.{solo_id}"],
                              audience={"users": [solo_id]}).id
    marker = finish_with_marker([smg, solo, smg_dinkes])
    assert smg.ids() == [for_smg, smg_group_only, smg_diskominfo_members, marker]
    assert solo.ids() == [for_solo, personal, marker]
    assert smg_dinkes.ids() == [for_smg, smg_group_only, marker]
    # Resume applies the same rule from the database.
    for client, user in ((smg, personas.smg_member), (solo, personas.solo_member)):
        fresh = RtClient(ws_connect(user), resume_after=0)
        assert fresh.ids() == client.ids()
        assert fresh.wire_duplicates == 0


def test_a_new_membership_takes_effect_on_subscription_changed(
    require_redis, asgi_server, ws_connect, personas, org
):
    solo = RtClient(ws_connect(personas.solo_member))
    before = emit_committed(type="message.created", data={}, groups=["unit.33.74.DINKES"]).id
    from tests.factories import MembershipFactory

    MembershipFactory(user=personas.solo_member, unit=org.semarang_dinkes, role="member")
    emit_committed(type=SUBSCRIPTION_CHANGED, data={}, groups=[f"user.{personas.solo_member.pk}"],
                   audience={"users": [personas.solo_member.pk]})
    after = emit_committed(type="message.created", data={}, groups=["unit.33.74.DINKES"]).id
    solo.wait_for([after])
    assert before not in solo.events


def test_a_unit_wide_subscription_change_reaches_every_connection_of_the_unit(
    require_redis, asgi_server, ws_connect, personas, org
):
    from tests.factories import MembershipFactory

    members = [personas.smg_member, personas.smg_head]
    clients = [RtClient(ws_connect(user)) for user in members]
    for user in members:
        MembershipFactory(user=user, unit=org.banyumas_diskominfo, role="member")
    # As the channels app does for a new unit channel: one event to the unit's group.
    emit_committed(type=SUBSCRIPTION_CHANGED, data={}, groups=["unit.33.74.DISKOMINFO"])
    # Each connection recomputes within a few seconds (spread); probe until all have.
    pending = list(clients)
    for _ in range(60):
        probe = emit_committed(type="message.created", data={}, groups=["unit.33.02"]).id
        time.sleep(0.25)
        marker = emit_committed(type="test.marker", data={}, groups=["unit.33"]).id
        for client in pending:
            client.wait_for([marker])
        pending = [client for client in pending if probe not in client.events]
        if not pending:
            break
    assert not pending, "a connection never joined its new unit's group"


def test_logging_out_over_http_closes_the_socket_within_5_seconds(
    require_redis, start_asgi_server, personas
):
    server_a, server_b = start_asgi_server(), start_asgi_server()
    user = personas.smg_member
    cookie = session_cookie_for(user)
    other_session = session_cookie_for(user)
    name = settings.SESSION_COOKIE_NAME
    ws = connect(server_a.ws_url, origin=server_a.url, open_timeout=10,
                 additional_headers={"Cookie": f"{name}={cookie}"})
    other = connect(server_a.ws_url, origin=server_a.url, open_timeout=10,
                    additional_headers={"Cookie": f"{name}={other_session}"})
    with ws, other:
        RtClient(ws)
        other_client = RtClient(other)
        # Log out through process B, with the session cookie and the CSRF token, as a browser.
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("Cookie", f"{name}={cookie}")]
        with opener.open(f"{server_b.url}/accounts/logout/", timeout=30) as response:
            page = response.read().decode()
        csrf = next(c.value for c in jar if c.name == settings.CSRF_COOKIE_NAME)
        assert "csrfmiddlewaretoken" in page
        request = urllib.request.Request(
            f"{server_b.url}/accounts/logout/", method="POST",
            data=f"csrfmiddlewaretoken={csrf}".encode(),
            headers={"Cookie": f"{name}={cookie}; {settings.CSRF_COOKIE_NAME}={csrf}",
                     "Content-Type": "application/x-www-form-urlencoded",
                     "Origin": server_b.url, "Referer": f"{server_b.url}/accounts/logout/"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        with pytest.raises(ConnectionClosed) as excinfo:
            while True:
                ws.recv(timeout=5)
        assert excinfo.value.rcvd is not None and excinfo.value.rcvd.code == 4401
        # The same user's other session stays connected.
        other.send('{"type": "ping"}')
        assert other_client.pump_until(lambda f: f.get("type") == "pong")


def test_a_deactivated_user_is_closed_and_refused(require_redis, asgi_server, ws_connect,
                                                 personas):
    user = personas.smg_member
    client = RtClient(ws_connect(user))
    cookie = session_cookie_for(user)
    from accounts.services import session_ended

    type(user).objects.filter(pk=user.pk).update(is_active=False)
    session_ended(user=user, session_key=None)
    with pytest.raises(ConnectionClosed) as excinfo:
        client.pump_until(lambda f: False)
    assert excinfo.value.rcvd.code == 4401
    with pytest.raises(InvalidStatus):
        connect(asgi_server.ws_url, origin=asgi_server.url, open_timeout=10,
                additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"})


# --- Bearer tokens and origins --------------------------------------------------------------


def test_an_api_client_connects_with_a_bearer_token_and_no_origin(asgi_server, personas):
    _, secret = token_create(user=personas.smg_member, name="bot", scopes=["read"])
    with connect(asgi_server.ws_url, open_timeout=10,
                 additional_headers={"Authorization": f"Bearer {secret}"}) as ws:
        client = RtClient(ws)
        assert client.hello["user"] == personas.smg_member.pk


@pytest.mark.parametrize("case", ["bad-token", "no-token-no-origin", "token-foreign-origin",
                                  "write-only-token"])
def test_a_handshake_without_valid_credentials_or_origin_is_refused(asgi_server, personas, case):
    _, read_secret = token_create(user=personas.smg_member, name="bot", scopes=["read"])
    _, write_secret = token_create(user=personas.smg_member, name="w", scopes=["write"])
    headers, origin = {
        "bad-token": ({"Authorization": "Bearer cm_not-a-token"}, None),
        "no-token-no-origin": ({}, None),
        "token-foreign-origin": ({"Authorization": f"Bearer {read_secret}"},
                                 "https://evil.example"),
        "write-only-token": ({"Authorization": f"Bearer {write_secret}"}, None),
    }[case]
    with pytest.raises(InvalidStatus) as excinfo:
        connect(asgi_server.ws_url, origin=origin, open_timeout=10, additional_headers=headers)
    assert excinfo.value.response.status_code == 403


# --- uvicorn --------------------------------------------------------------------------------


def test_the_same_app_runs_under_uvicorn(require_redis, start_asgi_server, ws_connect, personas):
    server = start_asgi_server("uvicorn")
    client = RtClient(ws_connect(personas.smg_member, server=server))
    event = emit_committed(type="notice.posted", data={"t": "u"}, groups=["unit.33.74"])
    client.wait_for([event.id])
    client.ws.send(json.dumps({"type": "ping", "pad": "x" * (settings.WS_MAX_FRAME_BYTES + 1)}))
    with pytest.raises(ConnectionClosed) as excinfo:
        client.pump_until(lambda f: False)
    assert excinfo.value.rcvd.code == 1009
