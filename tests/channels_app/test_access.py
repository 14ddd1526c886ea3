"""Access matrix: who sees which channel, thread and message — over pages and the JSON API.

Personas: member (Semarang Diskominfo), other unit in the same regency (Dinkes Semarang),
other regency (Surakarta, Banyumas), province (provincial Diskominfo), anonymous. Outsiders get
404 everywhere (never 403: a private channel's existence is not revealed).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from channels_app.models import Message

pytestmark = pytest.mark.django_db

# persona → may read (unit channel, forum, private channel)
MATRIX = {
    "smg_member": (True, True, True),
    "smg_admin": (True, True, False),  # same unit, admin — still not invited to the private one
    "smg_dinkes_member": (False, False, False),
    "solo_member": (False, True, False),
    "banyumas_author": (False, False, False),
    "prov_author": (False, True, False),
}
KINDS = ("unit", "forum", "private")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def targets(chans):
    return {
        "unit": (chans.unit, chans.unit_thread),
        "forum": (chans.forum, chans.forum_thread),
        "private": (chans.private, chans.private_thread),
    }


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_pages_follow_the_matrix(chans, personas, persona):
    user = getattr(personas, persona)
    client = client_for(user)
    listing = client.get("/kanal/").content.decode()
    for kind, may_read in zip(KINDS, MATRIX[persona], strict=True):
        channel, thread = targets(chans)[kind]
        message = thread.messages.first()
        expected = 200 if may_read else 404
        assert client.get(f"/kanal/{channel.pk}/").status_code == expected, kind
        assert client.get(f"/kanal/utas/{thread.pk}/").status_code == expected, kind
        assert client.get(f"/kanal/utas/{thread.pk}/pesan/?after=0").status_code == expected
        assert client.get(f"/kanal/pesan/{message.pk}/").status_code == expected, kind
        assert client.get(f"/kanal/pesan/{message.pk}/riwayat/").status_code == expected
        assert (f"/kanal/{channel.pk}/" in listing) == may_read, kind
        before = Message.objects.count()
        response = client.post(f"/kanal/utas/{thread.pk}/", {"body": "halo"})
        assert response.status_code == (302 if may_read else 404), kind
        assert Message.objects.count() == before + (1 if may_read else 0)


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_api_follows_the_matrix(chans, personas, persona):
    user = getattr(personas, persona)
    client = client_for(user)
    listed = {c["id"] for c in client.get("/api/v1/channels").json()["channels"]}
    for kind, may_read in zip(KINDS, MATRIX[persona], strict=True):
        channel, thread = targets(chans)[kind]
        message = thread.messages.first()
        expected = 200 if may_read else 404
        assert (channel.pk in listed) == may_read, kind
        assert client.get(f"/api/v1/channels/{channel.pk}").status_code == expected
        assert client.get(f"/api/v1/channels/{channel.pk}/threads").status_code == expected
        assert client.get(f"/api/v1/threads/{thread.pk}/messages").status_code == expected
        response = client.post(f"/api/v1/threads/{thread.pk}/messages",
                               json.dumps({"body": "halo"}), content_type="application/json")
        assert response.status_code == (201 if may_read else 404), (kind, response.json())
        if not may_read:
            assert response.json()["error"]["code"] == "not_found"
        response = client.post(f"/api/v1/channels/{channel.pk}/threads",
                               json.dumps({"title": "t", "body": "b"}),
                               content_type="application/json")
        assert response.status_code == (201 if may_read else 404), kind
        # Editing someone else's message: 403 for readers, 404 for outsiders.
        response = client.patch(f"/api/v1/messages/{message.pk}", json.dumps({"body": "x"}),
                                content_type="application/json")
        mine = message.author_id == user.pk
        assert response.status_code == (200 if mine else 403 if may_read else 404), kind
        response = client.delete(f"/api/v1/messages/{message.pk}")
        assert response.status_code == (200 if mine else 403 if may_read else 404), kind


def test_anonymous_gets_login_or_401(chans):
    client = Client()
    thread = chans.unit_thread
    for url in ("/kanal/", f"/kanal/{chans.unit.pk}/", f"/kanal/utas/{thread.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for url in ("/api/v1/channels", f"/api/v1/channels/{chans.unit.pk}",
                f"/api/v1/threads/{thread.pk}/messages"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
    before = Message.objects.count()
    response = client.post(f"/api/v1/threads/{thread.pk}/messages", json.dumps({"body": "x"}),
                           content_type="application/json")
    assert response.status_code == 401 and Message.objects.count() == before


def test_api_paging_forward_with_after(chans, personas):
    client = client_for(personas.smg_member)
    thread = chans.unit_thread
    ids = []
    for i in range(3):
        response = client.post(f"/api/v1/threads/{thread.pk}/messages",
                               json.dumps({"body": f"pesan {i}"}),
                               content_type="application/json")
        ids.append(response.json()["message"]["id"])
    data = client.get(f"/api/v1/threads/{thread.pk}/messages?after={ids[0]}").json()
    assert [m["id"] for m in data["messages"]] == ids[1:]
    assert client.get(f"/api/v1/threads/{thread.pk}/messages?after={ids[-1]}").json()[
        "messages"] == []


def test_api_bad_input_is_a_json_error_and_stores_nothing(chans, personas):
    client = client_for(personas.smg_member)
    thread = chans.unit_thread
    before = Message.objects.count()
    cases = [
        ({"body": ""}, 400, "invalid"),
        ({"body": "x" * 10_001}, 400, "too_long"),
        ({"body": "x", "reply_to": chans.forum_thread.messages.first().pk}, 400,
         "reply_outside_thread"),
        ({"nobody": "x"}, 422, "invalid_input"),
    ]
    for payload, status, code in cases:
        response = client.post(f"/api/v1/threads/{thread.pk}/messages", json.dumps(payload),
                               content_type="application/json")
        assert response.status_code == status, response.json()
        assert response.json()["error"]["code"] == code
    assert Message.objects.count() == before


def test_page_composer_errors_are_shown_and_nothing_stored(chans, personas):
    client = client_for(personas.smg_member)
    before = Message.objects.count()
    response = client.post(f"/kanal/utas/{chans.unit_thread.pk}/",
                           {"body": "x", "reply_to": chans.forum_thread.messages.first().pk})
    assert response.status_code == 400
    assert "tidak ada di utas ini" in response.content.decode()
    response = client.post(f"/kanal/utas/{chans.unit_thread.pk}/", {"body": "  "})
    assert response.status_code == 400
    assert Message.objects.count() == before


def test_channel_and_thread_names_are_escaped_in_pages(chans, personas):
    from channels_app import services

    client = client_for(personas.smg_member)
    evil = '<img src=x onerror="window.pwned=1">'
    services.thread_create(actor=personas.smg_member, channel_id=chans.unit.pk, title=evil,
                           body=evil)
    page = client.get(f"/kanal/{chans.unit.pk}/").content.decode()
    assert evil not in page and "&lt;img src=x" in page
