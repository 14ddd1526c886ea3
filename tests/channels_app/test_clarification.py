"""The clarification thread of an announcement and its signed official answers."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from announcements.transparency.models import LogEntry
from channels_app import selectors, services
from channels_app.models import OfficialAnswer
from common.errors import ServiceError
from tests.announcements.conftest import publish
from tests.channels_app.conftest import enable_mfa

pytestmark = pytest.mark.django_db


@pytest.fixture
def announcement(personas):
    enable_mfa(personas.smg_signer)
    return publish(personas.smg_author, personas.smg_signer)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_thread_is_visible_to_the_audience_and_the_issuer_only(announcement, personas):
    p = personas
    url = f"/api/v1/announcements/{announcement.pk}/thread"
    for user in (p.smg_member, p.smg_dinkes_member, p.smg_author, p.smg_signer):
        response = client_for(user).get(url)
        assert response.status_code == 200, user
    thread_id = response.json()["thread"]["id"]
    for user in (p.solo_member, p.banyumas_author, p.prov_author):
        assert client_for(user).get(url).status_code == 404
        assert client_for(user).get(f"/api/v1/threads/{thread_id}/messages").status_code == 404
        assert client_for(user).get(f"/kanal/utas/{thread_id}/").status_code == 404
    assert Client().get(url).status_code == 401
    # The audience subscribes to the thread's group; outsiders do not.
    assert f"thread.{thread_id}" in selectors.channel_groups_for(p.smg_dinkes_member)
    assert f"thread.{thread_id}" not in selectors.channel_groups_for(p.solo_member)


def test_official_answer_is_signed_and_verifies(announcement, personas):
    p = personas
    thread = services.clarification_thread_for(actor=p.smg_member,
                                               announcement_id=announcement.pk)
    question = services.message_post(actor=p.smg_dinkes_member, thread_id=thread.pk,
                                     body="Apakah puskesmas ikut padam?")
    answer = services.message_post(actor=p.smg_author, thread_id=thread.pk,
                                   body="Tidak, puskesmas memakai genset.",
                                   reply_to_id=question.pk)
    # A reader who is not the issuer's author/signer cannot mark it.
    with pytest.raises(ServiceError) as info:
        services.official_answer_mark(actor=p.smg_dinkes_member, message_id=answer.pk)
    assert info.value.code == "not_issuer"
    response = client_for(p.smg_author).post(f"/api/v1/messages/{answer.pk}/official")
    assert response.status_code == 201, response.json()
    signed = response.json()["official_answer"]
    assert signed["valid"] is True
    payload = json.loads(signed["payload"])
    assert payload["format"] == "comms.clarification/1"
    assert payload["announcement_id"] == announcement.pk
    assert payload["version"] == announcement.current_version.number
    assert payload["body"] == answer.body and payload["question_id"] == question.pk
    key = announcement.current_version.signing_key
    assert payload["key_id"] == key.key_id == signed["key_id"]

    listed = client_for(p.smg_member).get(
        f"/api/v1/announcements/{announcement.pk}/thread").json()
    assert [a["message_id"] for a in listed["official_answers"]] == [answer.pk]
    # The signed answer entered the transparency log like the announcement did.
    entry = LogEntry.objects.get(kind="official_answer")
    assert entry.announcement_id == announcement.pk
    assert json.loads(bytes(entry.leaf))["signature"] == signed["signature"]
    # …and the announcement page lists it under "Penjelasan resmi", verified.
    page = client_for(p.smg_member).get(f"/pengumuman/{announcement.pk}/").content.decode()
    assert "Penjelasan resmi" in page and "Tidak, puskesmas memakai genset." in page
    page = client_for(p.smg_member).get(f"/kanal/utas/{thread.pk}/").content.decode()
    assert "Penjelasan resmi" in page and "Tanda tangan sah" in page

    # Signed answers are frozen.
    with pytest.raises(ServiceError) as info:
        services.message_edit(actor=p.smg_author, message_id=answer.pk, body="ubah")
    assert info.value.code == "message_official"
    with pytest.raises(ServiceError) as info:
        services.official_answer_mark(actor=p.smg_author, message_id=answer.pk)
    assert info.value.code == "already_official"


def test_a_tampered_official_answer_fails_verification(announcement, personas):
    p = personas
    thread = services.clarification_thread_for(actor=p.smg_author,
                                               announcement_id=announcement.pk)
    message = services.message_post(actor=p.smg_author, thread_id=thread.pk, body="Jawaban A")
    services.official_answer_mark(actor=p.smg_author, message_id=message.pk)
    # Someone with database access changes the answer's text behind the application's back.
    type(message).objects.filter(pk=message.pk).update(body="Jawaban B")
    [check] = selectors.official_answers_for(announcement.pk)
    assert not check.valid and "body differs from the signed payload" in check.problems
    page = client_for(p.smg_member).get(f"/kanal/utas/{thread.pk}/").content.decode()
    assert "Tanda tangan tidak sah" in page
    assert OfficialAnswer.objects.count() == 1


def test_official_answers_only_in_clarification_threads(chans, personas):
    message = chans.unit_thread.messages.get()
    with pytest.raises(ServiceError) as info:
        services.official_answer_mark(actor=personas.smg_author, message_id=message.pk)
    assert info.value.code == "not_clarification"


def test_an_official_answer_passes_the_offline_log_verifier(announcement, personas, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from django.core.management import call_command

    p = personas
    thread = services.clarification_thread_for(actor=p.smg_author,
                                               announcement_id=announcement.pk)
    message = services.message_post(actor=p.smg_author, thread_id=thread.pk, body="Jawaban A")
    services.official_answer_mark(actor=p.smg_author, message_id=message.pk)
    call_command("export_log", str(tmp_path / "log"))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "tools" / "verify_log.py"),
                             str(tmp_path / "log")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
