"""The dashboard and the inbox cost a fixed number of queries, whatever the number of
recipients, units, reminders or awaiting announcements (one data size measured, the other
asserted equal)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt, ReceiptNotice
from tests.announcements.conftest import publish
from tests.conftest import make_user
from tests.factories import UnitFactory
from tests.receipts.conftest import client_for, enqueued, publish_ack, run_task

pytestmark = pytest.mark.django_db


def grow(org, label: str, units: int, people: int) -> list:
    """More sub-units under Diskominfo Kota Semarang, with people in them."""
    made = []
    for n in range(units):
        unit = UnitFactory.create_with_code(f"33.74.DISKOMINFO.{label}{n}", f"Bidang {n}",
                                            "subunit")
        made += [make_user(unit) for _ in range(people)]
    return made


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def with_activity(announcement, users) -> None:
    for user in users[::2]:
        receipts.receipt_acknowledge(user=user, announcement_id=announcement.pk, version=1)
    pending = announcement.receipts.filter(acknowledged_at=None).values_list("user_id",
                                                                             flat=True)
    ReceiptNotice.objects.bulk_create(
        [ReceiptNotice(announcement=announcement, user_id=u, kind="reminder", round=24)
         for u in pending])


def test_the_dashboard_does_not_grow_with_recipients_or_units(p, org,
                                                              django_assert_num_queries):
    small = publish_ack(p)
    with_activity(small, [p.smg_member, p.smg_head])
    client = client_for(p.smg_author)
    client.get("/")  # the session's first request does one-time bookkeeping
    counts = []
    for url in urls_of(small):
        cache.clear()  # the shared summary computed by this request: the worst case
        counts.append(queries_of(client, url))

    people = grow(org, "B", units=8, people=5)
    big = publish_ack(p)
    with_activity(big, people)
    assert big.receipts.count() > 5 * small.receipts.count()
    for url, count in zip(urls_of(big), counts, strict=True):
        cache.clear()
        with django_assert_num_queries(count):
            assert client.get(url).status_code == 200, url


def urls_of(announcement) -> list[str]:
    """The dashboard, its fragment (plain, after a subscription, for an event), the summary
    API, and the pending list (page and API: first page, by unit, after a cursor)."""
    cursor = announcement.receipts.filter(acknowledged_at=None).order_by("id").first().pk
    dashboard = f"/pengumuman/{announcement.pk}/tanda-terima/"
    api = f"/api/v1/announcements/{announcement.pk}/receipts"
    return [
        dashboard, f"{dashboard}?unit=33.74.DISKOMINFO&setelah={cursor}",
        f"{dashboard}ringkasan/", f"{dashboard}ringkasan/?e=0", f"{dashboard}ringkasan/?e=7",
        f"{api}/summary", f"{api}?state=pending", f"{api}?state=pending&unit=33.74.DINKES",
        f"{api}?state=pending&after={cursor}", f"{api}?state=pending&offset=3",
        f"{api}?state=acknowledged",
    ]


def test_the_inbox_does_not_grow_with_what_awaits_acknowledgement(p, org,
                                                                 django_assert_num_queries):
    member = p.smg_member
    client = client_for(member)
    client.get("/")  # the session's first request does one-time bookkeeping
    publish_ack(p)
    first = queries_of(client, "/pengumuman/")
    # Second visit: the receipts on the page are delivered already.
    baseline = queries_of(client, "/pengumuman/")
    for _ in range(12):
        publish_ack(p)
    # First visit since: the twelve new receipts are delivered, by the same two queries.
    assert queries_of(client, "/pengumuman/") == first
    with django_assert_num_queries(baseline):
        page = client.get("/pengumuman/")
    assert 'id="awaiting-count">13<' in page.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/announcements", "/pengumuman/"])
def test_the_first_fetch_of_new_announcements_does_not_grow_with_them(
        p, url, django_capture_on_commit_callbacks):
    """Fetching is delivery (a write in a GET); the summaries it changes are left to one
    deferred task, not published per announcement inside the request (finding 6 of
    docs/performance.md: 143 queries for 10 new items)."""
    client = client_for(p.smg_member)
    client.get("/")  # the session's first request does one-time bookkeeping

    def first_fetch_of(new: int) -> int:
        made = [publish_ack(p) for _ in range(new)]
        cache.clear()  # no summary is pending or was just published: the worst case
        with CaptureQueriesContext(connection) as captured, \
                django_capture_on_commit_callbacks(execute=True):
            assert client.get(url).status_code == 200
        assert not Receipt.objects.filter(user=p.smg_member, delivered_at=None,
                                          announcement__in=made).exists()
        return len(captured)

    few = first_fetch_of(2)
    assert first_fetch_of(12) == few
    # The one task publishes every summary a second later, as the task worker runs it.
    [task] = enqueued("publish_summaries_later")[-1:]
    assert len(task.args_kwargs["kwargs"]["announcement_ids"]) == 12
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_task(task) == 12


def test_the_inbox_costs_the_same_whether_anything_awaits_or_not(p,
                                                                django_assert_num_queries):
    client = client_for(p.smg_member)
    client.get("/")  # the session's first request does one-time bookkeeping
    publish(p.smg_author, p.smg_signer)  # asks for no acknowledgement
    client.get("/pengumuman/")  # the first listing delivers
    nothing = queries_of(client, "/pengumuman/")
    assert 'id="awaiting-count"' not in client.get("/pengumuman/").content.decode()
    publish_ack(p)
    client.get("/pengumuman/")
    with django_assert_num_queries(nothing):
        page = client.get("/pengumuman/")
    assert 'id="awaiting-count">1<' in page.content.decode()
