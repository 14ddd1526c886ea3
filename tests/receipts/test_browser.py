"""A real browser: the issuer's dashboard is open while others acknowledge; the numbers change
without a reload."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from announcements.receipts import services as receipts
from tests.receipts.conftest import publish_ack
from tests.receipts.test_websocket import http, token_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_dashboard(login_page, asgi_server, user, announcement):
    page = login_page(user)
    page.goto(f"{asgi_server.url}/pengumuman/{announcement.pk}/tanda-terima/")
    # Subscribed to the statistics: from now on every change is pushed.
    expect(page.locator("#receipt-dashboard")).to_have_attribute("data-live", "1")
    expect(page.locator("#sum-acknowledged")).to_have_text("0")
    return page


def test_the_dashboard_counts_an_acknowledgement_made_elsewhere(login_page, asgi_server,
                                                                ws_connect, p):
    ann = publish_ack(p)
    page = open_dashboard(login_page, asgi_server, p.smg_author, ann)
    row = page.locator('tr[data-unit="33.74.DINKES"] .ack-cell')
    expect(row).to_contain_text("0 (0%)")
    cache.delete(receipts._gate_key(ann.pk))  # the publication's second is over

    status, _h, body = http(asgi_server, "POST", f"/api/v1/announcements/{ann.pk}/ack",
                            token=token_for(p.smg_dinkes_member, "write"), body={"version": 1})
    assert status == 200, body
    expect(page.locator("#sum-acknowledged")).to_have_text("1")
    expect(row).to_contain_text("1 (100%)")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def test_a_burst_reaches_the_dashboard_through_the_throttle_and_the_worker(
        login_page, asgi_server, ws_connect, p, require_redis):
    """Acknowledgements within one second: the first is pushed at once, the rest by the
    deferred task the real worker runs (Redis carries its event to the server)."""
    from django_tasks_db.models import DBTaskResult

    from tests.announcements.test_lifecycle import run_task_worker

    ann = publish_ack(p)
    cache.delete(receipts._gate_key(ann.pk))
    page = open_dashboard(login_page, asgi_server, p.smg_author, ann)
    sockets = [ws_connect(user) for user in (p.smg_member, p.smg_head, p.smg_admin)]
    for ws in sockets:
        ws.recv(timeout=10)  # hello
        ws.send(json.dumps({"type": "ack", "announcement": ann.pk, "version": 1}))
    for ws in sockets:
        while json.loads(ws.recv(timeout=10)).get("type") != "acked":
            pass
    expect(page.locator("#sum-acknowledged")).not_to_have_text("0")
    # The second is over: the gate opens, and the worker runs the deferred summary.
    cache.delete(receipts._gate_key(ann.pk))
    DBTaskResult.objects.filter(task_path="announcements.receipts.services.publish_summary_later") \
        .update(run_after=timezone.now() - timedelta(seconds=1))
    run_task_worker()
    expect(page.locator("#sum-acknowledged")).to_have_text("3")
