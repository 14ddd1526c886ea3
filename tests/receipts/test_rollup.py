"""The per-unit summary rolled up the unit tree, its API contract, and who may see it."""

from __future__ import annotations

import pytest

from announcements.receipts import services as receipts
from announcements.receipts.permissions import access_receipt_stats
from announcements.receipts.selectors import summary_for
from common.errors import NotFound
from tests.announcements.conftest import publish, setda_author
from tests.conftest import make_user
from tests.factories import UnitFactory
from tests.receipts.conftest import client_for, publish_ack

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(p, org):
    """Two sub-units under the OPDs of Kota Semarang, with people in them."""
    aptika = UnitFactory.create_with_code("33.74.DISKOMINFO.APTIKA", "Bidang Aptika", "subunit")
    p2p = UnitFactory.create_with_code("33.74.DINKES.P2P", "Bidang P2P", "subunit")
    people = {
        "aptika": [make_user(aptika) for _ in range(3)],
        "p2p": [make_user(p2p) for _ in range(2)],
    }
    return people


def ack(user, announcement):
    receipts.receipt_acknowledge(user=user, announcement_id=announcement.pk, version=1)


def test_the_rollup_counts_every_level_of_the_tree(p, tree):
    ann = publish_ack(p)
    for user in (*tree["aptika"][:2], tree["p2p"][0], p.smg_member):
        ack(user, ann)
    receipts.receipt_mark_read(user=p.smg_dinkes_member, announcement_id=ann.pk)

    response = client_for(p.smg_author).get(f"/api/v1/announcements/{ann.pk}/receipts/summary")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"total", "delivered", "read", "acknowledged", "by_unit"}
    # 5 staff/members of Diskominfo + 3 Aptika + 1 Dinkes + 2 P2P + the auditor of 33.74.
    assert (data["total"], data["acknowledged"], data["read"], data["delivered"]) == (12, 4, 5, 5)
    rows = {row["unit"]: row for row in data["by_unit"]}
    assert all(set(row) == {"unit", "total", "delivered", "read", "acknowledged"}
               for row in data["by_unit"])
    expected = {  # unit: (total, acknowledged, read)
        "33": (12, 4, 5),
        "33.74": (12, 4, 5),
        "33.74.DISKOMINFO": (8, 3, 3),
        "33.74.DISKOMINFO.APTIKA": (3, 2, 2),
        "33.74.DINKES": (3, 1, 2),
        "33.74.DINKES.P2P": (2, 1, 1),
    }
    assert {code: (r["total"], r["acknowledged"], r["read"]) for code, r in rows.items()} \
        == expected
    # Tree order: a parent comes before its children.
    assert [row["unit"] for row in data["by_unit"]] == sorted(expected)


def test_a_province_wide_announcement_rolls_up_regencies_and_provincial_opds(p, org):
    ann = publish(setda_author(), p.gov_signer, issuer_code="33.SETDA",
                  audience_units=("33",), requires_ack=True)
    ack(p.solo_member, ann)
    ack(p.smg_member, ann)
    scope = access_receipt_stats(p.gov_signer, ann.pk)
    summary = summary_for(scope)
    rows = {row.unit: row for row in summary.by_unit}
    recipients = ann.receipts.count()
    assert summary.total == recipients == rows["33"].total
    assert rows["33"].acknowledged == 2
    assert rows["33.72"].acknowledged == rows["33.72.DISKOMINFO"].acknowledged == 1
    assert rows["33.74"].acknowledged == 1 and rows["33.02"].acknowledged == 0
    assert rows["33.74"].total == ann.receipts.filter(unit__code__startswith="33.74").count()
    # Every level sums its children and its own people.
    for code, row in rows.items():
        inside = ann.receipts.filter(unit__code=code).count() + ann.receipts.filter(
            unit__code__startswith=f"{code}.").count()
        assert row.total == inside, code


def test_an_auditor_of_part_of_the_audience_sees_only_that_subtree(p, org, tree):
    dinkes_auditor = make_user(org.semarang_dinkes, "auditor")
    ann = publish_ack(p)
    ack(tree["p2p"][0], ann)
    ack(p.smg_member, ann)
    scope = access_receipt_stats(dinkes_auditor, ann.pk)
    assert scope.codes == ("33.74.DINKES",)
    data = client_for(dinkes_auditor).get(
        f"/api/v1/announcements/{ann.pk}/receipts/summary").json()
    # The Dinkes member, the auditor herself and P2P.
    assert (data["total"], data["acknowledged"]) == (4, 1)
    assert [row["unit"] for row in data["by_unit"]] == ["33.74.DINKES", "33.74.DINKES.P2P"]
    pending = client_for(dinkes_auditor).get(
        f"/api/v1/announcements/{ann.pk}/receipts?state=pending").json()
    assert pending["count"] == 3
    assert {item["unit"] for item in pending["items"]} <= {"33.74.DINKES", "33.74.DINKES.P2P"}


@pytest.mark.parametrize("who", ["solo_member", "banyumas_author", "smg_member",
                                 "smg_dinkes_member"])
def test_people_without_a_view_of_the_receipts_get_404(ann, p, who):
    client = client_for(getattr(p, who))
    for path in (f"/api/v1/announcements/{ann.pk}/receipts/summary",
                 f"/api/v1/announcements/{ann.pk}/receipts",
                 f"/pengumuman/{ann.pk}/tanda-terima/",
                 f"/pengumuman/{ann.pk}/tanda-terima/ringkasan/",
                 f"/pengumuman/{ann.pk}/tanda-terima.csv"):
        assert client.get(path).status_code == 404, (who, path)


def test_an_auditor_keeps_the_view_when_everyone_in_the_area_has_acknowledged(p, org, tree):
    # The pending index no longer finds the area's receipts; the check must still see them.
    dinkes_auditor = make_user(org.semarang_dinkes, "auditor")
    ann = publish_ack(p)
    area = ann.receipts.filter(unit__code__startswith="33.74.DINKES")
    for receipt in area.select_related("user"):
        ack(receipt.user, ann)
    assert area.exists() and not area.filter(acknowledged_at=None).exists()
    assert access_receipt_stats(dinkes_auditor, ann.pk).codes == ("33.74.DINKES",)


def test_an_auditor_sees_receipts_only_where_the_audience_reached_someone(p, org):
    dinkes_auditor = make_user(org.semarang_dinkes, "auditor")
    # Addressed to Dinkes Semarang itself: its auditor sees it.
    ann = publish_ack(p, audience_units=("33.74.DINKES",))
    assert access_receipt_stats(dinkes_auditor, ann.pk).codes == ("33.74.DINKES",)
    # Addressed to Diskominfo Semarang only: Dinkes is not reached (answered without a query).
    ann = publish_ack(p, audience_units=("33.74.DISKOMINFO",))
    with pytest.raises(NotFound):
        access_receipt_stats(dinkes_auditor, ann.pk)
    # Reached, but only signers are addressed and Dinkes has none: no receipt, 404.
    ann = publish_ack(p, roles=("signer",))
    assert not ann.receipts.filter(unit__code__startswith="33.74.DINKES").exists()
    with pytest.raises(NotFound):
        access_receipt_stats(dinkes_auditor, ann.pk)


def test_an_auditor_of_a_unit_without_recipients_gets_404(ann, org):
    solo_auditor = make_user(org.solo, "auditor")
    with pytest.raises(NotFound):
        access_receipt_stats(solo_auditor, ann.pk)


@pytest.mark.parametrize("who", ["smg_author", "smg_signer", "smg_head", "smg_admin",
                                 "smg_auditor"])
def test_the_issuer_staff_and_auditors_above_see_everything(ann, p, who):
    assert access_receipt_stats(getattr(p, who), ann.pk).full
    page = client_for(getattr(p, who)).get(f"/pengumuman/{ann.pk}/tanda-terima/")
    assert page.status_code == 200 and 'id="unit-table"' in page.content.decode()


def test_the_pending_list_filters_by_unit_and_state_and_paginates(p, tree):
    ann = publish_ack(p)
    ack(tree["aptika"][0], ann)
    client = client_for(p.smg_author)
    base = f"/api/v1/announcements/{ann.pk}/receipts"
    everyone = client.get(f"{base}?state=pending").json()
    assert everyone["count"] == 11
    aptika = client.get(f"{base}?state=pending&unit=33.74.DISKOMINFO.APTIKA").json()
    assert aptika["count"] == 2
    assert {i["user"]["id"] for i in aptika["items"]} == {u.pk for u in tree["aptika"][1:]}
    acknowledged = client.get(f"{base}?state=acknowledged").json()
    assert [i["user"]["id"] for i in acknowledged["items"]] == [tree["aptika"][0].pk]
    assert acknowledged["items"][0]["acknowledged_version"] == 1
    first = client.get(f"{base}?state=pending&limit=5").json()
    second = client.get(f"{base}?state=pending&limit=5&offset=5").json()
    assert len(first["items"]) == 5 and len(second["items"]) == 5
    assert not {i["user"]["id"] for i in first["items"]} & {i["user"]["id"]
                                                            for i in second["items"]}
    bad = client.get(f"{base}?state=kabur")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_state_filter"
    assert client.get(f"{base}?limit=0").json()["error"]["code"] == "invalid_page"
    page = client.get(f"/pengumuman/{ann.pk}/tanda-terima/?unit=33.74.DINKES",
                      headers={"HX-Request": "true", "HX-Target": "pending"})
    assert page.status_code == 200 and page.content.decode().count("data-user=") == 3
