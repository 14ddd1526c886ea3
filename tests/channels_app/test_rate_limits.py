"""Per-user rate limits on posting messages, starting threads and searching (issue 14 items 10
and 16): one limit in the service, so the page and the JSON API share it; 429 `rate_limited`
in the API, a form error on the page, nothing written."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from channels_app import selectors, services
from channels_app.models import Message, Thread
from common.errors import ServiceError
from tests.channels_app.conftest import client_for

pytestmark = pytest.mark.django_db

#: Windows are aligned to the clock: one of ~31 years, so that a test never straddles two.
WINDOW = 10**9


def post_json(client: Client, path: str, payload: dict):
    return client.post(path, json.dumps(payload), content_type="application/json")


def test_posting_messages_is_limited_per_user_across_page_api_and_service(
    chans, personas, settings
):
    settings.MESSAGE_RATE_LIMIT = (3, WINDOW)
    thread = chans.unit_thread
    member = client_for(personas.smg_member)
    services.message_post(actor=personas.smg_member, thread_id=thread.pk, body="satu")
    assert post_json(member, f"/api/v1/threads/{thread.pk}/messages",
                     {"body": "dua"}).status_code == 201
    assert member.post(f"/kanal/utas/{thread.pk}/", {"body": "tiga"}).status_code == 302
    before = Message.objects.count()

    refused = post_json(member, f"/api/v1/threads/{thread.pk}/messages", {"body": "empat"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    page = member.post(f"/kanal/utas/{thread.pk}/", {"body": "lima"})
    assert page.status_code == 429
    assert "Terlalu banyak pesan" in page.content.decode()
    with pytest.raises(ServiceError) as info:
        services.message_post(actor=personas.smg_member, thread_id=thread.pk, body="enam")
    assert info.value.code == "rate_limited"
    assert Message.objects.count() == before

    # Another person in the same thread is not affected.
    other = post_json(client_for(personas.smg_author), f"/api/v1/threads/{thread.pk}/messages",
                      {"body": "dari orang lain"})
    assert other.status_code == 201


def test_refused_bad_input_does_not_use_up_the_limit(chans, personas, settings):
    settings.MESSAGE_RATE_LIMIT = (1, WINDOW)
    member = client_for(personas.smg_member)
    path = f"/api/v1/threads/{chans.unit_thread.pk}/messages"
    assert post_json(member, path, {"body": "   "}).status_code == 400
    assert post_json(member, path, {"body": "baik"}).status_code == 201
    assert post_json(member, path, {"body": "lagi"}).status_code == 429


def test_starting_threads_is_limited_per_user(chans, personas, settings):
    settings.THREAD_RATE_LIMIT = (1, WINDOW)
    channel = chans.unit
    member = client_for(personas.smg_member)
    assert post_json(member, f"/api/v1/channels/{channel.pk}/threads",
                     {"title": "Kedua", "body": "isi"}).status_code == 201
    before = (Thread.objects.count(), Message.objects.count())

    refused = post_json(member, f"/api/v1/channels/{channel.pk}/threads",
                        {"title": "Ketiga", "body": "isi"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    page = member.post(f"/kanal/{channel.pk}/", {"title": "Keempat", "body": "isi"})
    assert page.status_code == 429
    assert "Terlalu banyak utas baru" in page.content.decode()
    assert (Thread.objects.count(), Message.objects.count()) == before


def test_search_is_limited_per_user(chans, personas, settings):
    settings.SEARCH_RATE_LIMIT = (2, WINDOW)
    member = client_for(personas.smg_member)
    assert member.get("/api/v1/channels/search", {"q": "wifi"}).status_code == 200
    assert member.get("/kanal/cari/", {"q": "wifi"}).status_code == 200

    refused = member.get("/api/v1/channels/search", {"q": "wifi"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    page = member.get("/kanal/cari/", {"q": "wifi"})
    assert page.status_code == 429
    assert "Terlalu banyak pencarian" in page.content.decode()
    # Someone else still searches.
    assert selectors.search_messages(personas.smg_author, "wifi")


def test_an_empty_search_costs_nothing(chans, personas, settings):
    settings.SEARCH_RATE_LIMIT = (1, WINDOW)
    member = client_for(personas.smg_member)
    for _ in range(3):
        assert member.get("/kanal/cari/").status_code == 200
    assert member.get("/api/v1/channels/search", {"q": "wifi"}).status_code == 200
