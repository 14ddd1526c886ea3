"""Returning a version under review and cancelling a scheduled publication undo a signer's
decision, so they need what signing needs: the signer role *and* a second factor (issue 14,
item 11). Service, page and API alike."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from announcements import services
from announcements.models import Announcement, ReviewComment, Status, VersionState
from common.errors import ServiceError
from tests.announcements.conftest import make_draft
from tests.conftest import enable_mfa
from tests.receipts.conftest import client_for

pytestmark = pytest.mark.django_db


def in_review(personas) -> Announcement:
    draft = make_draft(personas.smg_author)
    services.announcement_submit(actor=personas.smg_author, announcement_id=draft.pk)
    return draft


def scheduled(personas) -> Announcement:
    """Scheduled for tomorrow by the signer while enrolled, who then loses the factor."""
    from allauth.mfa.models import Authenticator

    draft = in_review(personas)
    enable_mfa(personas.smg_signer)
    services.announcement_publish(actor=personas.smg_signer, announcement_id=draft.pk,
                                  publish_at=timezone.now() + timedelta(days=1))
    Authenticator.objects.filter(user=personas.smg_signer).delete()
    return draft


def assert_untouched(announcement: Announcement, state: str) -> None:
    assert announcement.versions.get().state == state
    assert not ReviewComment.objects.exists()
    assert not AuditEvent.objects.filter(action="announcement.return").exists()


@pytest.mark.parametrize(("make", "state"), [(in_review, VersionState.IN_REVIEW),
                                             (scheduled, VersionState.SCHEDULED)])
def test_the_service_refuses_a_signer_without_mfa(personas, make, state):
    announcement = make(personas)
    with pytest.raises(ServiceError) as error:
        services.announcement_return(actor=personas.smg_signer,
                                     announcement_id=announcement.pk, comment="Tunda dulu.")
    assert (error.value.code, error.value.status) == ("mfa_required", 403)
    assert_untouched(announcement, state)


@pytest.mark.parametrize(("make", "state"), [(in_review, VersionState.IN_REVIEW),
                                             (scheduled, VersionState.SCHEDULED)])
def test_the_page_refuses_a_signer_without_mfa_with_a_message(personas, make, state):
    announcement = make(personas)
    response = client_for(personas.smg_signer).post(
        f"/pengumuman/{announcement.pk}/aksi/return/", {"comment": "Tunda dulu."}, follow=True)
    assert response.status_code == 200
    assert "autentikasi dua faktor" in response.content.decode()
    assert_untouched(announcement, state)


@pytest.mark.parametrize(("make", "state"), [(in_review, VersionState.IN_REVIEW),
                                             (scheduled, VersionState.SCHEDULED)])
def test_the_api_refuses_a_signer_without_mfa(personas, make, state):
    announcement = make(personas)
    response = client_for(personas.smg_signer).post(
        f"/api/v1/announcements/{announcement.pk}/return",
        json.dumps({"comment": "Tunda dulu."}), content_type="application/json")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "mfa_required"
    assert_untouched(announcement, state)


def test_with_mfa_the_signer_cancels_a_scheduled_publication(personas):
    announcement = scheduled(personas)
    enable_mfa(personas.smg_signer)
    response = client_for(personas.smg_signer).post(
        f"/api/v1/announcements/{announcement.pk}/return",
        json.dumps({"comment": "Tunda dulu."}), content_type="application/json")
    assert response.status_code == 200, response.content
    announcement.refresh_from_db()
    assert announcement.status == Status.DRAFT
    assert announcement.versions.get().scheduled_for is None
