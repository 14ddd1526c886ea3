"""Dates a user supplies are bounded (issue 14, item 21): an acknowledgement deadline of
9999-12-31T23:59:59-12:00 (year 10000 in UTC) was saved, and from then on the issued list
answered 500. One check in the service, for the page's forms and the API alike: a time zone,
the future where that matters, at most MAX_DAYS_AHEAD days ahead."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from announcements import services
from announcements.models import Announcement, AnnouncementVersion, Status, VersionState
from announcements.services import MAX_DAYS_AHEAD
from tests.announcements.conftest import make_draft
from tests.receipts.conftest import client_for

pytestmark = pytest.mark.django_db

END_OF_TIME = "9999-12-31T23:59:59-12:00"  # year 10000 in UTC
OUT_OF_RANGE = ["year-10000-utc", "past-the-horizon", "no-time-zone"]


def body(**overrides) -> dict:
    data = {
        "issuer": "33.74.DISKOMINFO", "title": "Libur nasional", "body": "Kantor tutup.",
        "reference_number": "003/45/2026", "priority": "biasa", "classification": "internal",
        "audience": {"units": ["33.74"], "include_subunits": True, "roles": []},
        "requires_ack": True,
    }
    data.update(overrides)
    return data


def post(client, url: str, data: dict):
    return client.post(url, json.dumps(data), content_type="application/json")


def assert_lists_render(user) -> None:
    client = client_for(user)
    assert client.get("/api/v1/announcements?mine=issued").status_code == 200
    assert client.get("/pengumuman/terbitan/").status_code == 200


def in_days(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize("deadline", [END_OF_TIME, in_days(MAX_DAYS_AHEAD + 1),
                                      "2030-01-01T10:00:00"], ids=OUT_OF_RANGE)
def test_the_api_refuses_a_deadline_out_of_range(personas, deadline):
    author = client_for(personas.smg_author)
    response = post(author, "/api/v1/announcements", body(ack_deadline=deadline))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "ack_deadline" in error["fields"], error
    assert not Announcement.objects.exists()
    assert_lists_render(personas.smg_author)


def test_the_api_refuses_it_on_an_edit_too(personas):
    author = client_for(personas.smg_author)
    created = post(author, "/api/v1/announcements", body(ack_deadline=in_days(3)))
    assert created.status_code == 201
    response = author.put(f"/api/v1/announcements/{created.json()['id']}",
                          json.dumps(body(ack_deadline=END_OF_TIME)),
                          content_type="application/json")
    assert response.status_code == 400 and "ack_deadline" in response.json()["error"]["fields"]
    assert Announcement.objects.get().ack_deadline < timezone.now() + timedelta(days=4)
    assert_lists_render(personas.smg_author)


def test_a_deadline_within_the_range_is_kept(personas):
    author = client_for(personas.smg_author)
    response = post(author, "/api/v1/announcements",
                    body(ack_deadline=in_days(MAX_DAYS_AHEAD - 1)))
    assert response.status_code == 201, response.content
    assert_lists_render(personas.smg_author)


def test_the_compose_form_shows_the_error_on_the_deadline(personas):
    response = client_for(personas.smg_author).post("/pengumuman/baru/", {
        "issuer": "33.74.DISKOMINFO", "reference_number": "1/2026", "title": "Uji",
        "body": "Isi", "priority": "biasa", "classification": "internal",
        "audience_units": "33.74", "include_subunits": "on", "requires_ack": "on",
        "ack_deadline": "9999-12-31T23:59",
    })
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["ack_deadline"] == [f"Paling lambat {MAX_DAYS_AHEAD} hari dari sekarang."]
    assert not Announcement.objects.exists()
    assert_lists_render(personas.smg_author)


def in_review(personas, **overrides) -> Announcement:
    draft = make_draft(personas.smg_author, **overrides)
    services.announcement_submit(actor=personas.smg_author, announcement_id=draft.pk)
    return draft


def assert_still_in_review(draft: Announcement) -> None:
    version = AnnouncementVersion.objects.get(announcement=draft)
    assert version.state == VersionState.IN_REVIEW and version.scheduled_for is None
    assert Announcement.objects.get(pk=draft.pk).status == Status.IN_REVIEW


@pytest.mark.parametrize("publish_at", [END_OF_TIME, in_days(MAX_DAYS_AHEAD + 1),
                                        "2030-01-01T10:00:00"], ids=OUT_OF_RANGE)
def test_the_api_refuses_a_publication_time_out_of_range(signers_with_mfa, publish_at):
    draft = in_review(signers_with_mfa)
    response = post(client_for(signers_with_mfa.smg_signer),
                    f"/api/v1/announcements/{draft.pk}/publish", {"publish_at": publish_at})
    assert response.status_code == 400, response.content
    assert "publish_at" in response.json()["error"]["fields"]
    assert_still_in_review(draft)
    assert_lists_render(signers_with_mfa.smg_signer)


def test_the_publish_form_refuses_it_with_a_message(signers_with_mfa):
    draft = in_review(signers_with_mfa)
    response = client_for(signers_with_mfa.smg_signer).post(
        f"/pengumuman/{draft.pk}/aksi/publish/", {"publish_at": "9999-12-31T23:59"},
        follow=True)
    assert f"Paling lambat {MAX_DAYS_AHEAD} hari dari sekarang." in response.content.decode()
    assert_still_in_review(draft)


def test_a_first_publication_needs_its_deadline_still_ahead(signers_with_mfa):
    p = signers_with_mfa
    signer = client_for(p.smg_signer)
    draft = in_review(p, requires_ack=True, ack_deadline=timezone.now() + timedelta(hours=1))
    # Scheduled after its own deadline: refused.
    response = post(signer, f"/api/v1/announcements/{draft.pk}/publish",
                    {"publish_at": in_days(1)})
    assert response.status_code == 400 and "ack_deadline" in response.json()["error"]["fields"]
    assert_still_in_review(draft)
    # The draft waited in review past its deadline: publishing now is refused too.
    Announcement.objects.filter(pk=draft.pk).update(
        ack_deadline=timezone.now() - timedelta(minutes=1))
    response = post(signer, f"/api/v1/announcements/{draft.pk}/publish", {})
    assert response.status_code == 400 and "ack_deadline" in response.json()["error"]["fields"]
    assert_still_in_review(draft)
