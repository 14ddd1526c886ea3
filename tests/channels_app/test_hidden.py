"""A message hidden by a moderator is hidden for everyone but the thread's moderators,
everywhere (issue 14 item 5): thread page and fragments, history page, revisions API, API
lists, search (tests/channels_app/test_search.py), the event log a resume replays, later
edits and their mentions. One rule: channels_app.permissions.can_read_hidden.

The message: written "sandi-lama-123", edited to "sandi-baru-456" (so "sandi-lama-123" is a
revision), then hidden by the unit's admin. Readers: the author and a colleague (not
moderators), and the admin (moderator of the unit channel).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from channels_app import services
from channels_app.models import Mention, Message
from notifications.models import Notification
from realtime.models import Event
from tests.announcements.conftest import publish
from tests.channels_app.conftest import client_for, enable_mfa, make_channels
from tests.conftest import recv_json

pytestmark = pytest.mark.django_db

OLD, NEW = "sandi-lama-123", "sandi-baru-456"


@dataclass
class Hidden:
    message: Message
    thread_id: int


def hide_one(chans, personas) -> Hidden:
    p = personas
    message = services.message_post(actor=p.smg_member, thread_id=chans.unit_thread.pk,
                                    body=f"Wifi tamu: {OLD}")
    services.message_edit(actor=p.smg_member, message_id=message.pk, body=f"Wifi tamu: {NEW}")
    enable_mfa(p.smg_admin)
    services.message_hide(actor=p.smg_admin, message_id=message.pk, reason="data rahasia")
    return Hidden(message=message, thread_id=chans.unit_thread.pk)


@pytest.fixture
def hidden(chans, personas) -> Hidden:
    return hide_one(chans, personas)


def non_moderators(personas):
    return {"author": personas.smg_member, "colleague": personas.smg_author}


def test_the_history_page_shows_no_text_but_to_moderators(hidden, personas):
    url = f"/kanal/pesan/{hidden.message.pk}/riwayat/"
    for who, user in non_moderators(personas).items():
        page = client_for(user).get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert OLD not in text and NEW not in text, who
        assert "data rahasia" in text, who  # the reason is shown, as on the thread
    text = client_for(personas.smg_admin).get(url).content.decode()
    assert OLD in text and NEW in text


def test_the_revisions_api_shows_no_text_but_to_moderators(hidden, personas):
    url = f"/api/v1/messages/{hidden.message.pk}/revisions"
    for who, user in non_moderators(personas).items():
        response = client_for(user).get(url)
        assert response.status_code == 200
        data = response.json()
        assert data["revisions"] == [], who
        assert data["message"]["body"] == "" and data["message"]["hidden"], who
        assert OLD not in response.content.decode() and NEW not in response.content.decode()
    data = client_for(personas.smg_admin).get(url).json()
    assert [r["body"] for r in data["revisions"]] == [f"Wifi tamu: {OLD}"]
    assert data["message"]["body"] == f"Wifi tamu: {NEW}" and data["message"]["hidden"]


def test_the_thread_page_and_its_fragments_show_no_text_but_to_moderators(hidden, personas):
    urls = [f"/kanal/utas/{hidden.thread_id}/", f"/kanal/utas/{hidden.thread_id}/pesan/?after=0",
            f"/kanal/pesan/{hidden.message.pk}/"]
    for who, user in non_moderators(personas).items():
        client = client_for(user)
        for url in urls:
            text = client.get(url).content.decode()
            assert "data rahasia" in text, (who, url)
            assert NEW not in text and OLD not in text, (who, url)
    admin = client_for(personas.smg_admin)
    for url in urls:
        text = admin.get(url).content.decode()
        assert "data rahasia" in text and NEW in text, url


def test_api_message_lists_show_no_text_but_to_moderators(hidden, personas):
    url = f"/api/v1/threads/{hidden.thread_id}/messages"
    for who, user in non_moderators(personas).items():
        response = client_for(user).get(url)
        (entry,) = [m for m in response.json()["messages"] if m["id"] == hidden.message.pk]
        assert entry["hidden"] and entry["body"] == "" and entry["body_html"] == "", who
        assert NEW not in response.content.decode(), who
    data = client_for(personas.smg_admin).get(url).json()
    (entry,) = [m for m in data["messages"] if m["id"] == hidden.message.pk]
    assert entry["hidden"] and NEW in entry["body"]


def test_the_event_log_no_longer_holds_the_text(hidden):
    # message.created and message.edited were stored with the text; a resume replays them.
    stored = json.dumps(list(Event.objects.values_list("data", flat=True)))
    assert OLD not in stored and NEW not in stored
    created = Event.objects.get(type="message.created",
                                data__message__id=hidden.message.pk)
    assert created.data["message"]["hidden"] and created.data["message"]["body"] == ""


def test_a_later_edit_is_refused_and_neither_pushes_text_nor_mentions(hidden, personas):
    before = (Event.objects.count(), Mention.objects.count(), Notification.objects.count())
    response = client_for(personas.smg_member).patch(
        f"/api/v1/messages/{hidden.message.pk}",
        json.dumps({"body": f"@[{personas.smg_author.full_name}] sandi-ketiga-789"}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "message_hidden"
    assert (Event.objects.count(), Mention.objects.count(),
            Notification.objects.count()) == before
    assert Message.objects.get(pk=hidden.message.pk).body == f"Wifi tamu: {NEW}"
    # The author may still delete it.
    services.message_delete(actor=personas.smg_member, message_id=hidden.message.pk)


def test_a_signed_official_answer_cannot_be_hidden(personas):
    enable_mfa(personas.smg_signer)
    announcement = publish(personas.smg_author, personas.smg_signer)
    thread = services.clarification_thread_for(actor=personas.smg_author,
                                               announcement_id=announcement.pk)
    answer = services.message_post(actor=personas.smg_author, thread_id=thread.pk,
                                   body="Ya, berlaku untuk semua OPD.")
    services.official_answer_mark(actor=personas.smg_author, message_id=answer.pk)
    enable_mfa(personas.smg_admin)
    response = client_for(personas.smg_admin).post(
        f"/api/v1/messages/{answer.pk}/hide", json.dumps({"reason": "salah"}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "message_official"
    assert Message.objects.get(pk=answer.pk).hidden_at is None


def test_a_resume_over_a_real_websocket_replays_no_hidden_text(
    asgi_server, ws_connect, org, personas
):
    chans = make_channels(org, personas)
    hidden = hide_one(chans, personas)
    ws = ws_connect(personas.smg_author)
    assert recv_json(ws)["type"] == "hello"
    ws.send(json.dumps({"type": "resume", "after": 0}))
    frames = []
    while True:
        frame = recv_json(ws, timeout=10)
        frames.append(frame)
        if frame["type"] == "resumed":
            break
    mine = [f for f in frames if f.get("data", {}).get("message", {}).get("id")
            == hidden.message.pk]
    assert {f["type"] for f in mine} >= {"message.created", "message.hidden"}
    text = json.dumps(frames)
    assert OLD not in text and NEW not in text
