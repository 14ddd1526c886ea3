"""The inbox API costs the same number of queries for 2 announcements as for 6."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from announcements.receipts.models import Receipt
from tests.announcements.conftest import publish

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", ["/api/v1/announcements", "/api/v1/announcements?mine=issued"])
def test_listing_queries_do_not_grow_with_the_page(signers_with_mfa, url):
    p = signers_with_mfa
    client = Client()
    reader = p.smg_member if "mine" not in url else p.smg_author
    client.force_login(reader)
    for _ in range(2):
        publish(p.smg_author, p.smg_signer)
    client.get(url)  # warm: session and per-user caches
    few = _queries(client, url)
    for _ in range(4):
        publish(p.smg_author, p.smg_signer)
    client.get(url)  # the first listing marks the new ones delivered: one write more, once
    many = _queries(client, url)
    assert len(client.get(url).json()) == 6
    assert many == few


def _api_clients(p):
    """Token clients of Semarang's author and signer (their tokens made once, outside any
    count)."""
    from tests.announcements.test_api import token_client

    return (token_client(p.smg_author, "read", "write"),
            token_client(p.smg_signer, "read", "write", "publish"))


def _publish_queries(author, signer, **fields) -> tuple[list[str], int]:
    """Draft and submit through the API, then publish: the SQL of the publish request alone,
    and the announcement's id."""
    from tests.announcements.test_api import body, post

    ann = post(author, "/api/v1/announcements", body(**fields)).json()
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    with CaptureQueriesContext(connection) as captured:
        response = post(signer, f"/api/v1/announcements/{ann['id']}/publish")
    assert response.status_code == 200, response.content
    return [query["sql"] for query in captured.captured_queries], ann["id"]


def test_the_publish_request_costs_the_same_queries_for_a_wider_audience(signers_with_mfa):
    # Through the whole stack (token auth, middleware, service, log, event, push, response):
    # the receipts are one INSERT … SELECT and the unit ids one array parameter, whatever the
    # audience; the count also guards against a query creeping into every publication.
    author, signer = _api_clients(signers_with_mfa)

    def publish_queries(units: list[str]) -> tuple[int, int]:
        sql, announcement_id = _publish_queries(
            author, signer, audience={"units": units, "include_subunits": True, "roles": []})
        receipts = Receipt.objects.filter(announcement_id=announcement_id).count()
        return len(sql), receipts

    publish_queries(["33.74.DISKOMINFO"])  # warm: the unit's signing key, the log's first entry
    narrow, narrow_receipts = publish_queries(["33.74.DISKOMINFO"])
    wide, wide_receipts = publish_queries(["33.74"])
    assert 0 < narrow_receipts < wide_receipts
    assert wide == narrow
    # PostgreSQL, with an acknowledgement deadline (37: 36 and one for the two-person rule,
    # who wrote the version; 40 before the savepoints and the receipts array went; SQLite 34
    # before the rule).
    assert narrow <= 37


@pytest.mark.django_db(transaction=True)
def test_the_publish_request_pushes_its_event_last(signers_with_mfa):
    # The response is built before the event is pushed: under ASGI the request thread shares
    # the interpreter with the gateway that writes the event to every connection, and a response
    # built meanwhile slowed the fan-out (docs/performance.md). So the push — its claim, then
    # the mark — is the request's last work.
    sql, _ = _publish_queries(*_api_clients(signers_with_mfa))
    claim = max(i for i, text in enumerate(sql) if '"claimed_at"' in text and "UPDATE" in text)
    assert '"pushed_at"' in sql[-1] and sql[-1].startswith("UPDATE")
    # Nothing but the push after the commit: the response's reads all came before the claim.
    assert all(text.startswith("UPDATE") or "COMMIT" in text.upper() or "RELEASE" in text
               for text in sql[claim:]), sql[claim:]
