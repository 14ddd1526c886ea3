"""The inbox API costs the same number of queries for 2 announcements as for 6."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

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
