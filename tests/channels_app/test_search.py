"""Message search (issue 14 item 10): stored documents with a GIN index instead of a tsvector
per message per request, a statement timeout, the same results as before (Indonesian stemming,
websearch syntax, titles weigh more than bodies), and no hidden text for non-moderators."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from channels_app import selectors, services
from common.errors import ServiceError
from tests.channels_app.conftest import client_for, enable_mfa, make_channels

pytestmark = pytest.mark.django_db


def post(user, thread, body: str):
    return services.message_post(actor=user, thread_id=thread.pk, body=body)


def test_search_reads_the_stored_documents_not_a_tsvector_per_row(
    require_postgres, chans, personas
):
    post(personas.smg_member, chans.unit_thread, "Rapat anggaran jaringan")
    with CaptureQueriesContext(connection) as queries:
        hits = selectors.search_messages(personas.smg_member, "anggaran")
    assert [m.body for m in hits] == ["Rapat anggaran jaringan"]
    searches = [q["sql"] for q in queries.captured_queries if "@@" in q["sql"]]
    assert searches, "the search ran no text-search query"
    for sql in searches:
        assert "search_document" in sql
        assert "to_tsvector" not in sql, sql


def test_the_search_query_uses_the_gin_indexes(require_postgres, chans, personas):
    post(personas.smg_member, chans.unit_thread, "Rapat anggaran jaringan")
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A handful of test rows: without this the planner rightly prefers a sequential
            # scan; with it, it uses an index whenever the query allows one.
            cursor.execute("SET LOCAL enable_seqscan = off")
        body_plan = selectors.search_queryset(personas.smg_member, "anggaran").explain()
        title_plan = selectors.title_search_queryset(personas.solo_member, "SPBE").explain()
        both_plan = selectors.search_queryset(personas.solo_member, "SPBE").explain()
    assert "channels_app_message_search_idx" in body_plan, body_plan
    assert "channels_app_thread_search_idx" in title_plan, title_plan
    # With a title match: the body index or'ed with the messages of the matching threads.
    assert "channels_app_message_search_idx" in both_plan, both_plan


def test_results_keep_stemming_websearch_syntax_and_title_weight(
    require_postgres, chans, personas
):
    p = personas
    budget = services.thread_create(actor=p.smg_member, channel_id=chans.unit.pk,
                                    title="Anggaran 2026", body="Mohon masukan.")
    body_hit = post(p.smg_member, chans.unit_thread, "Kapan anggaran jaringan cair?")
    secret = post(p.smg_member, chans.unit_thread, "anggaran rahasia, jangan disebar")
    announced = post(p.smg_member, chans.unit_thread, "Kadis mengumumkan jadwal baru.")

    first = budget.messages.get()
    hits = [m.pk for m in selectors.search_messages(p.smg_member, "anggaran")]
    assert hits[0] == first.pk, "a title match (weight A) ranks above a body match (B)"
    assert set(hits) == {first.pk, body_hit.pk, secret.pk}
    hits = selectors.search_messages(p.smg_member, "anggaran -rahasia")
    assert {m.pk for m in hits} == {first.pk, body_hit.pk}, "`-word` excludes"
    # The Indonesian configuration of today: "umumkan" finds "mengumumkan".
    assert [m.pk for m in selectors.search_messages(p.smg_member, "umumkan")] == [announced.pk]
    assert [m.pk for m in selectors.search_messages(p.smg_member, '"jadwal baru"')] == [
        announced.pk
    ]
    assert selectors.search_messages(p.smg_member, '"jadwal lama"') == []
    assert selectors.search_messages(p.smg_member, "   ") == []


def test_hidden_and_deleted_messages_are_found_only_by_moderators(chans, personas):
    p = personas
    enable_mfa(p.smg_admin)
    hidden = post(p.smg_member, chans.unit_thread, "nomor rekening pribadi 123")
    deleted = post(p.smg_member, chans.unit_thread, "nomor yang salah")
    services.message_hide(actor=p.smg_admin, message_id=hidden.pk, reason="data pribadi")
    services.message_delete(actor=p.smg_member, message_id=deleted.pk)

    assert selectors.search_messages(p.smg_member, "nomor") == []
    api = client_for(p.smg_member).get("/api/v1/channels/search", {"q": "nomor"}).json()
    assert api["results"] == []
    # The unit's admin moderates the channel: finds the hidden one (never the deleted one).
    assert [m.pk for m in selectors.search_messages(p.smg_admin, "nomor")] == [hidden.pk]
    api = client_for(p.smg_admin).get("/api/v1/channels/search", {"q": "nomor"}).json()
    assert [r["message"]["body"] for r in api["results"]] == ["nomor rekening pribadi 123"]


def test_the_timeout_does_not_outlive_the_search(require_postgres, chans, personas):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        (before,) = cursor.fetchone()
    selectors.search_messages(personas.smg_member, "wifi")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        assert cursor.fetchone() == (before,)


@pytest.fixture
def locked_messages(require_postgres, transactional_db, org, personas):
    """Channels, then another session holding an exclusive lock on the message table (released
    after 10 s at the latest): a search without a statement timeout waits; one with it is
    cancelled."""
    import psycopg

    chans = make_channels(org, personas)

    settings_dict = connection.settings_dict
    locker = psycopg.connect(
        dbname=settings_dict["NAME"], user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None, host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
    )
    locker.execute("LOCK TABLE channels_app_message IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(10, locker.rollback)
    release.start()
    yield chans
    release.cancel()
    locker.rollback()
    locker.close()


def test_a_slow_search_is_cancelled_with_a_clear_error(locked_messages, personas, settings):
    settings.SEARCH_TIMEOUT_MS = 300
    with pytest.raises(ServiceError) as info:
        selectors.search_messages(personas.smg_member, "wifi")
    assert info.value.code == "search_timeout" and info.value.status == 503
    response = client_for(personas.smg_member).get("/api/v1/channels/search", {"q": "wifi"})
    assert response.status_code == 503
    assert json.loads(response.content)["error"]["code"] == "search_timeout"
    page = client_for(personas.smg_member).get("/kanal/cari/", {"q": "wifi"})
    assert page.status_code == 503
    assert "Pencarian terlalu lama" in page.content.decode()
