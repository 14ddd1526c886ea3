"""Acknowledging and reading: one service behind the API and the page; idempotency, refusals,
re-acknowledgement after a correction, delivered/read on fetch."""

from __future__ import annotations

import pytest

from announcements import services
from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt
from common.errors import NotFound, ServiceError
from tests.receipts.conftest import client_for, correct, post_json, publish_ack

pytestmark = pytest.mark.django_db


def receipt_of(announcement, user) -> Receipt:
    return Receipt.objects.get(announcement=announcement, user=user)


def test_acknowledging_records_the_version_and_first_timestamps(ann, p):
    response = post_json(client_for(p.smg_member), f"/api/v1/announcements/{ann.pk}/ack",
                         {"version": 1})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["acknowledged_version"] == 1 and data["changed"] is True
    receipt = receipt_of(ann, p.smg_member)
    assert receipt.acknowledged_version == 1
    # Acknowledging implies having received and read it.
    assert receipt.delivered_at == receipt.read_at == receipt.acknowledged_at is not None


def test_a_second_acknowledgement_changes_nothing(ann, p):
    first = receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    again = receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    assert first.changed and not again.changed
    receipt = receipt_of(ann, p.smg_member)
    assert receipt.acknowledged_at == first.receipt.acknowledged_at
    response = post_json(client_for(p.smg_member), f"/api/v1/announcements/{ann.pk}/ack",
                         {"version": 1})
    assert response.status_code == 200 and response.json()["changed"] is False
    assert receipt_of(ann, p.smg_member).acknowledged_at == first.receipt.acknowledged_at


@pytest.mark.parametrize("who", ["solo_member", "banyumas_author", "gov_signer"])
def test_a_non_recipient_gets_404(ann, p, who):
    client = client_for(getattr(p, who))
    for path, body in ((f"/api/v1/announcements/{ann.pk}/ack", {"version": 1}),
                       (f"/api/v1/announcements/{ann.pk}/read", None)):
        response = post_json(client, path, body)
        assert response.status_code == 404, (who, path)
        assert response.json()["error"]["code"] == "not_found"
    assert not Receipt.objects.filter(user=getattr(p, who)).exists()


def test_an_unknown_announcement_and_an_anonymous_client_are_refused(ann, p):
    response = post_json(client_for(p.smg_member), "/api/v1/announcements/999999/ack",
                         {"version": 1})
    assert response.status_code == 404
    from django.test import Client

    assert post_json(Client(), f"/api/v1/announcements/{ann.pk}/ack",
                     {"version": 1}).status_code == 401


def test_a_version_that_does_not_exist_gets_a_clear_error(ann, p):
    response = post_json(client_for(p.smg_member), f"/api/v1/announcements/{ann.pk}/ack",
                         {"version": 7})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_version" and "7" in error["message"]
    assert receipt_of(ann, p.smg_member).acknowledged_at is None


@pytest.mark.parametrize("payload", [{}, {"version": "satu"}, {"version": 0},
                                     {"version": None}, {"versi": 1}])
def test_a_malformed_body_is_refused_and_records_nothing(ann, p, payload):
    response = post_json(client_for(p.smg_member), f"/api/v1/announcements/{ann.pk}/ack",
                         payload)
    assert response.status_code in (400, 422), response.content
    assert "error" in response.json()
    assert receipt_of(ann, p.smg_member).acknowledged_at is None


def test_a_correction_requiring_reack_resets_acknowledgements(ann, p):
    receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    receipts.receipt_acknowledge(user=p.smg_dinkes_member, announcement_id=ann.pk, version=1)
    correct(p, ann, requires_reack=True)
    assert not Receipt.objects.filter(announcement=ann).exclude(acknowledged_at=None).exists()
    # Each still knows what they had acknowledged: the page tells them the text changed.
    assert receipt_of(ann, p.smg_member).acknowledged_version == 1

    with pytest.raises(ServiceError) as refused:
        receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    assert refused.value.code == "version_superseded" and refused.value.status == 409
    response = post_json(client_for(p.smg_member), f"/api/v1/announcements/{ann.pk}/ack",
                         {"version": 1})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "version_superseded"

    result = receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=2)
    assert result.changed and receipt_of(ann, p.smg_member).acknowledged_version == 2


def test_a_correction_without_reack_keeps_acknowledgements_and_their_version(ann, p):
    first = receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    correct(p, ann, requires_reack=False)
    receipt = receipt_of(ann, p.smg_member)
    assert receipt.acknowledged_at == first.receipt.acknowledged_at
    assert receipt.acknowledged_version == 1
    # Version 1 may still be acknowledged by someone who read it (it was not superseded for
    # acknowledgement), and the new version may be acknowledged too.
    assert receipts.receipt_acknowledge(user=p.smg_dinkes_member, announcement_id=ann.pk,
                                        version=1).changed
    assert receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk,
                                        version=2).receipt.acknowledged_version == 2
    assert not receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk,
                                            version=1).changed
    assert receipt_of(ann, p.smg_member).acknowledged_version == 2


def test_a_withdrawn_announcement_and_one_without_acknowledgement_are_refused(p):
    optional = publish_ack(p, requires_ack=False, ack_deadline=None)
    with pytest.raises(ServiceError) as refused:
        receipts.receipt_acknowledge(user=p.smg_member, announcement_id=optional.pk, version=1)
    assert refused.value.code == "ack_not_required"
    withdrawn = publish_ack(p)
    services.announcement_withdraw(actor=p.smg_signer, announcement_id=withdrawn.pk,
                                   reason="Keliru kirim.")
    with pytest.raises(ServiceError) as refused:
        receipts.receipt_acknowledge(user=p.smg_member, announcement_id=withdrawn.pk,
                                     version=1)
    assert refused.value.code == "withdrawn"


def test_read_marks_delivered_and_read_once(ann, p):
    client = client_for(p.smg_member)
    first = post_json(client, f"/api/v1/announcements/{ann.pk}/read").json()
    assert first["read_at"] and first["delivered_at"] and first["acknowledged_at"] is None
    read_at = receipt_of(ann, p.smg_member).read_at
    post_json(client, f"/api/v1/announcements/{ann.pk}/read")
    assert receipt_of(ann, p.smg_member).read_at == read_at


def test_the_api_get_reads_and_the_api_list_delivers(ann, p):
    client = client_for(p.smg_dinkes_member)
    assert client.get("/api/v1/announcements").status_code == 200
    receipt = receipt_of(ann, p.smg_dinkes_member)
    assert receipt.delivered_at is not None and receipt.read_at is None
    assert client.get(f"/api/v1/announcements/{ann.pk}").status_code == 200
    assert receipt_of(ann, p.smg_dinkes_member).read_at is not None
    # Issuer staff who are no recipients can read it without a receipt appearing.
    assert client_for(p.gov_signer).get(f"/api/v1/announcements/{ann.pk}").status_code == 404


def test_the_inbox_page_delivers_and_shows_what_awaits_acknowledgement(ann, p):
    other = publish_ack(p, title="Rapat koordinasi")
    receipts.receipt_acknowledge(user=p.smg_member, announcement_id=other.pk, version=1)
    page = client_for(p.smg_member).get("/pengumuman/")
    html = page.content.decode()
    assert 'id="awaiting-count">1<' in html
    awaiting = html.split('id="awaiting-acks"')[1].split("</section>")[0]
    assert "Pemadaman listrik terjadwal" in awaiting and "Rapat koordinasi" not in awaiting
    assert receipt_of(ann, p.smg_member).delivered_at is not None


def test_the_page_button_acknowledges_with_htmx(ann, p):
    client = client_for(p.smg_member)
    page = client.get(f"/pengumuman/{ann.pk}/").content.decode()
    assert "Saya telah membaca dan memahami" in page and 'name="version" value="1"' in page
    response = client.post(f"/pengumuman/{ann.pk}/konfirmasi/", {"version": "1"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Anda telah mengonfirmasi versi 1" in response.content.decode()
    assert receipt_of(ann, p.smg_member).acknowledged_version == 1
    # Without JavaScript: a redirect back to the announcement.
    plain = client.post(f"/pengumuman/{ann.pk}/konfirmasi/", {"version": "1"})
    assert plain.status_code == 302


def test_the_page_refuses_a_stale_version_and_outsiders(ann, p):
    correct(p, ann, requires_reack=True)
    client = client_for(p.smg_member)
    response = client.post(f"/pengumuman/{ann.pk}/konfirmasi/", {"version": "1"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409 and 'id="ack-error"' in response.content.decode()
    outsider = client_for(p.solo_member).post(f"/pengumuman/{ann.pk}/konfirmasi/",
                                              {"version": "1"})
    assert outsider.status_code == 404


def test_after_a_reack_correction_the_page_says_the_text_changed_with_a_diff_link(ann, p):
    receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    correct(p, ann, requires_reack=True)
    html = client_for(p.smg_member).get(f"/pengumuman/{ann.pk}/").content.decode()
    assert 'id="ack-reack"' in html
    assert f"/pengumuman/{ann.pk}/beda/?a=1&b=2" in html
    assert 'name="version" value="2"' in html
    inbox = client_for(p.smg_member).get("/pengumuman/").content.decode()
    assert "teks berubah, konfirmasi ulang" in inbox


def test_the_service_is_the_same_404_for_staff_who_are_not_recipients(ann, p):
    with pytest.raises(NotFound):
        receipts.receipt_acknowledge(user=p.gov_signer, announcement_id=ann.pk, version=1)
