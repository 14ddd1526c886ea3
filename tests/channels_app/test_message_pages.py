"""The message buttons of the thread page: delete, hide (moderation), mark official."""

from __future__ import annotations

import pytest
from django.test import Client

from channels_app import services
from channels_app.models import Message, OfficialAnswer
from tests.announcements.conftest import publish
from tests.channels_app.conftest import enable_mfa

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_deleting_from_the_page_leaves_a_tombstone(chans, personas):
    message = services.message_post(actor=personas.smg_member, thread_id=chans.unit_thread.pk,
                                     body="Salah kirim")
    response = client_for(personas.smg_member).post(f"/kanal/pesan/{message.pk}/hapus/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/kanal/utas/{chans.unit_thread.pk}/#m{message.pk}")
    message.refresh_from_db()
    assert message.deleted_at is not None and message.body == ""


def test_hiding_needs_a_unit_admin_and_says_why_not(chans, personas):
    message = services.message_post(actor=personas.smg_member, thread_id=chans.unit_thread.pk,
                                    body="Iklan")
    outsider_in_channel = client_for(personas.smg_author)
    response = outsider_in_channel.post(f"/kanal/pesan/{message.pk}/sembunyikan/",
                                        {"reason": "spam"}, follow=True)
    assert response.status_code == 200
    assert "message error" in response.content.decode()  # the refusal shown on the thread
    assert Message.objects.get(pk=message.pk).hidden_at is None

    client_for(personas.smg_admin).post(f"/kanal/pesan/{message.pk}/sembunyikan/",
                                        {"reason": "spam"})
    hidden = Message.objects.get(pk=message.pk)
    assert hidden.hidden_at is not None and hidden.hidden_reason == "spam"


def test_marking_an_official_answer_from_the_page(personas):
    enable_mfa(personas.smg_signer)
    announcement = publish(personas.smg_author, personas.smg_signer)
    thread = services.clarification_thread_for(actor=personas.smg_author,
                                               announcement_id=announcement.pk)
    answer = services.message_post(actor=personas.smg_author, thread_id=thread.pk,
                                   body="Ya, berlaku untuk semua OPD.")
    response = client_for(personas.smg_author).post(f"/kanal/pesan/{answer.pk}/resmi/",
                                                     follow=True)
    assert response.status_code == 200
    assert OfficialAnswer.objects.filter(message=answer).exists()
    assert "Penjelasan resmi telah ditandatangani." in response.content.decode()
