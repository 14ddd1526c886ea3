"""Who has not acknowledged: the pending list read a page at a time (keyset pagination by unit
code and receipt id, names sorted within a page), its count, and the shared summary."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from accounts.models import User
from announcements.receipts import selectors as receipt_selectors
from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt, ReceiptNotice
from announcements.receipts.permissions import access_receipt_stats
from tests.conftest import make_user
from tests.factories import UnitFactory
from tests.receipts.conftest import client_for, publish_ack

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(p, org):
    """Kota Semarang with two more sub-units and eleven more people (twenty recipients)."""
    aptika = UnitFactory.create_with_code("33.74.DISKOMINFO.APTIKA", "Bidang Aptika", "subunit")
    p2p = UnitFactory.create_with_code("33.74.DINKES.P2P", "Bidang P2P", "subunit")
    # Names in the opposite order of creation (and so of receipt ids) within each unit.
    return ([make_user(aptika, full_name=f"Aptika {9 - n}") for n in range(6)]
            + [make_user(p2p, full_name=f"P2P {9 - n}") for n in range(5)])


def ack(user, announcement) -> None:
    receipts.receipt_acknowledge(user=user, announcement_id=announcement.pk, version=1)


def walk(client, base: str, limit: int) -> list[list[dict]]:
    """Every page of the pending list, following `next_after`."""
    pages, after = [], ""
    while True:
        data = client.get(f"{base}&limit={limit}{after}").json()
        pages.append(data["items"])
        if data["next_after"] is None:
            return pages
        after = f"&after={data['next_after']}"


def test_the_pages_cover_everyone_pending_once_in_unit_order(p, crowd):
    ann = publish_ack(p)
    ack(crowd[0], ann)
    client = client_for(p.smg_author)
    base = f"/api/v1/announcements/{ann.pk}/receipts?state=pending"
    pending = Receipt.objects.filter(announcement=ann, acknowledged_at=None)
    pages = walk(client, base, limit=4)
    items = [item for page in pages for item in page]
    assert sorted(i["user"]["id"] for i in items) == sorted(pending.values_list("user_id",
                                                                                flat=True))
    assert len(pages) == -(-len(items) // 4)
    # Units in code order across pages; names in order within each page and unit.
    units = [i["unit"] for i in items]
    assert units == sorted(units)
    for page in pages:
        for unit in {i["unit"] for i in page}:
            names = [i["user"]["full_name"] for i in page if i["unit"] == unit]
            assert names == sorted(names)
    # The count is every pending recipient, not the page.
    assert client.get(base).json()["count"] == len(items) == pending.count()


def test_acknowledging_between_pages_shifts_nobody(p, crowd):
    ann = publish_ack(p)
    client = client_for(p.smg_author)
    base = f"/api/v1/announcements/{ann.pk}/receipts?state=pending&limit=5"
    first = client.get(base).json()
    for item in first["items"]:  # the whole first page acknowledges
        ack(User.objects.get(pk=item["user"]["id"]), ann)
    second = client.get(f"{base}&after={first['next_after']}").json()
    # With offsets, the people of the second page would have moved onto the first.
    expected = list(Receipt.objects.filter(announcement=ann, acknowledged_at=None)
                    .order_by("unit__code", "id").values_list("user_id", flat=True)[:5])
    assert sorted(i["user"]["id"] for i in second["items"]) == sorted(expected)


def test_the_unit_filter_and_an_auditors_scope_bound_the_pages(p, org, crowd):
    ann = publish_ack(p)
    client = client_for(p.smg_author)
    base = f"/api/v1/announcements/{ann.pk}/receipts?state=pending&unit=33.74.DISKOMINFO.APTIKA"
    items = [i for page in walk(client, base, limit=2) for i in page]
    assert {i["user"]["id"] for i in items} == {u.pk for u in crowd[:6]}
    assert client.get(base).json()["count"] == 6
    # An auditor of Dinkes filtering by the whole city sees (and counts) Dinkes only.
    auditor = make_user(org.semarang_dinkes, "auditor")
    mine = client_for(auditor).get(
        f"/api/v1/announcements/{ann.pk}/receipts?state=pending&unit=33.74").json()
    units = {i["unit"] for i in mine["items"]}
    assert units == {"33.74.DINKES", "33.74.DINKES.P2P"}
    assert mine["count"] == len(mine["items"]) == Receipt.objects.filter(
        announcement=ann, unit__code__startswith="33.74.DINKES").count()


def test_cursors_are_checked(p, crowd):
    ann = publish_ack(p)
    other = publish_ack(p)
    client = client_for(p.smg_author)
    base = f"/api/v1/announcements/{ann.pk}/receipts"
    foreign = Receipt.objects.filter(announcement=other).values_list("id", flat=True).first()
    # Another announcement's receipt is no position in this list: an empty page.
    empty = client.get(f"{base}?state=pending&after={foreign}").json()
    assert (empty["items"], empty["next_after"]) == ([], None)
    for query in ("state=acknowledged&after=1", "state=pending&after=0",
                  f"state=pending&after={2**63}"):
        response = client.get(f"{base}?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "invalid_page"
    # Offsets still work, over the same order.
    walked = [i["user"]["id"] for page in walk(client, f"{base}?state=pending", 3)
              for i in page]
    second = client.get(f"{base}?state=pending&limit=3&offset=3").json()["items"]
    assert sorted(i["user"]["id"] for i in second) == sorted(walked[3:6])


def test_the_dashboard_pages_forward_with_a_cursor(p, crowd, monkeypatch):
    monkeypatch.setattr("announcements.receipts.views.PENDING_PAGE", 8)
    ann = publish_ack(p)
    client = client_for(p.smg_author)
    url = f"/pengumuman/{ann.pk}/tanda-terima/"
    html = client.get(url).content.decode()
    assert html.count("data-user=") == 8
    assert f"{ann.receipts.count()} orang belum mengonfirmasi" in html
    page = receipt_selectors.pending_page(
        access_receipt_stats(p.smg_author, ann.pk), limit=8)
    assert f"setelah={page.next_after}" in html
    rest = client.get(f"{url}?setelah={page.next_after}",
                      headers={"HX-Request": "true", "HX-Target": "pending"}).content.decode()
    assert rest.count("data-user=") == 8 and "Dari awal" in rest
    shown = {int(u) for u in _users(html) + _users(rest)}
    assert len(shown) == 16
    # A cursor that is not a number is the first page.
    assert _users(client.get(f"{url}?setelah=x").content.decode()) == _users(html)


def _users(html: str) -> list[str]:
    return [part.split('"')[1] for part in html.split("data-user=")[1:]]


def test_the_summary_is_shared_until_its_next_publication_but_a_subscription_sees_the_latest(
        p, crowd):
    cache.clear()
    ann = publish_ack(p)
    client = client_for(p.smg_author)
    api = f"/api/v1/announcements/{ann.pk}/receipts/summary"
    pending = f"/api/v1/announcements/{ann.pk}/receipts?state=pending"
    fragment = f"/pengumuman/{ann.pk}/tanda-terima/ringkasan/"
    assert client.get(api).json()["acknowledged"] == 0
    total = client.get(pending).json()["count"]
    # The throttle's gate is closed (a summary went out this second): the acknowledgement's
    # summary event waits for the deferred task, and so do the shared summaries.
    cache.set(receipts._gate_key(ann.pk), 1, 60)
    ack(crowd[0], ann)
    assert client.get(api).json()["acknowledged"] == 0
    assert client.get(pending).json()["count"] == total
    assert 'data-acknowledged="0"' in client.get(fragment).content.decode()
    # After (re)subscribing the page asks with e=0: computed afresh.
    assert 'data-acknowledged="1"' in client.get(f"{fragment}?e=0").content.decode()
    # The deferred task publishes the summary event: every shared summary ends with it.
    receipts.publish_summary(ann.pk)
    assert client.get(api).json()["acknowledged"] == 1
    assert client.get(pending).json()["count"] == total - 1
    assert 'data-acknowledged="1"' in client.get(fragment).content.decode()


def test_notice_counts_come_from_the_notices_of_the_scope(p, org, crowd):
    ann = publish_ack(p)
    kinds = [("reminder", 24, None), ("reminder", 2, None), ("escalation", 0, p.smg_head)]
    for user in (crowd[0], crowd[6]):
        ReceiptNotice.objects.bulk_create([
            ReceiptNotice(announcement=ann, user=user, kind=kind, round=rnd, head=head)
            for kind, rnd, head in kinds])
    ReceiptNotice.objects.create(announcement=ann, user=crowd[1], kind="reminder", round=24)
    full = access_receipt_stats(p.smg_author, ann.pk)
    assert receipt_selectors.notice_counts(full) == {"reminded": 3, "escalated": 2}
    auditor = make_user(org.semarang_dinkes, "auditor")
    dinkes = access_receipt_stats(auditor, ann.pk)
    assert receipt_selectors.notice_counts(dinkes) == {"reminded": 1, "escalated": 1}
