"""Separation of duties (issue 14, item 12): by default whoever wrote a version — its author, or
an author who edited its text or attachments — cannot sign it. One rule in the service, so the
page, the API and the scheduled publication agree; `TWO_PERSON_RULE=false` turns it off."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from announcements import services
from announcements.models import Announcement, Status, VersionState
from announcements.receipts.models import Receipt
from common.errors import ServiceError
from tests.announcements.conftest import content, make_draft, publish, setda_author
from tests.conftest import enable_mfa, make_user
from tests.receipts.conftest import client_for

pytestmark = pytest.mark.django_db


def own_draft(p) -> Announcement:
    """Drafted and submitted by the Sekda, who is also the governor's office's signer."""
    draft = make_draft(p.gov_signer, "33.SETDA", audience_units=("33.SETDA",))
    services.announcement_submit(actor=p.gov_signer, announcement_id=draft.pk)
    return draft


def assert_refused(error: ServiceError) -> None:
    assert (error.code, error.status) == ("two_person_rule", 403)
    assert "Pemisahan tugas" in error.message


def assert_not_published(announcement: Announcement) -> None:
    announcement.refresh_from_db()
    assert announcement.current_version is None and announcement.status == Status.IN_REVIEW
    assert not Receipt.objects.filter(announcement=announcement).exists()
    assert not AuditEvent.objects.filter(action__in=("announcement.publish",
                                                     "announcement.schedule")).exists()


def test_by_default_the_author_cannot_sign_their_own_version(signers_with_mfa):
    draft = own_draft(signers_with_mfa)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=signers_with_mfa.gov_signer,
                                      announcement_id=draft.pk)
    assert_refused(error.value)
    assert_not_published(draft)


def test_nor_schedule_it(signers_with_mfa):
    draft = own_draft(signers_with_mfa)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=signers_with_mfa.gov_signer,
                                      announcement_id=draft.pk,
                                      publish_at=timezone.now() + timedelta(hours=1))
    assert_refused(error.value)
    assert_not_published(draft)


def test_another_signer_signs_what_the_author_wrote(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(setda_author(), p.gov_signer, issuer_code="33.SETDA",
                           audience_units=("33.SETDA",))
    assert announcement.status == Status.PUBLISHED
    assert announcement.current_version.signer == p.gov_signer
    # The Sekda then writes a correction: that version is theirs, so not theirs to sign.
    services.announcement_correct(actor=p.gov_signer, announcement_id=announcement.pk,
                                  title="Ralat", body="Isi ralat.", reason="Salah jam.")
    services.announcement_submit(actor=p.gov_signer, announcement_id=announcement.pk)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=p.gov_signer, announcement_id=announcement.pk)
    assert_refused(error.value)
    assert Announcement.objects.get(pk=announcement.pk).current_version.number == 1


@pytest.mark.parametrize("writes", ["edit", "attachment"])
def test_an_author_who_changed_the_draft_cannot_sign_it(signers_with_mfa, org, writes):
    p = signers_with_mfa
    # An author who also signs for the unit touches the draft someone else started.
    both = make_user(org.semarang_diskominfo, "author", "signer", full_name="Sekretaris Dinas")
    enable_mfa(both)
    draft = make_draft(p.smg_author)
    if writes == "edit":
        services.announcement_edit(actor=both, announcement_id=draft.pk,
                                   content=content(body="Listrik padam pukul 10.00 WIB."))
    else:
        services.attachment_add(actor=both, announcement_id=draft.pk, name="jadwal.pdf",
                                data=b"%PDF-1.7 jadwal")
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=both, announcement_id=draft.pk)
    assert_refused(error.value)
    assert_not_published(draft)
    # A signer who wrote nothing of it may.
    services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)
    assert Announcement.objects.get(pk=draft.pk).status == Status.PUBLISHED


def test_with_the_rule_off_the_author_may_sign(signers_with_mfa, settings):
    settings.TWO_PERSON_RULE = False
    draft = own_draft(signers_with_mfa)
    services.announcement_publish(actor=signers_with_mfa.gov_signer, announcement_id=draft.pk)
    announcement = Announcement.objects.get(pk=draft.pk)
    assert announcement.status == Status.PUBLISHED
    assert announcement.current_version.signer == announcement.current_version.author


def test_the_scheduled_publication_checks_again_when_it_runs(signers_with_mfa, settings):
    settings.TWO_PERSON_RULE = False
    draft = own_draft(signers_with_mfa)
    services.announcement_publish(actor=signers_with_mfa.gov_signer, announcement_id=draft.pk,
                                  publish_at=timezone.now() + timedelta(hours=1))
    version = draft.versions.get()
    version.refresh_from_db()
    assert version.state == VersionState.SCHEDULED
    # The rule is turned on before the time comes: the worker refuses, nothing is signed.
    settings.TWO_PERSON_RULE = True
    type(version).objects.filter(pk=version.pk).update(
        scheduled_for=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ServiceError) as error:
        services.announcement_publish_scheduled(version_id=version.pk)
    assert_refused(error.value)
    assert Announcement.objects.get(pk=draft.pk).current_version is None


def test_the_page_says_why_instead_of_offering_to_sign(signers_with_mfa):
    p = signers_with_mfa
    draft = own_draft(p)
    sekda = client_for(p.gov_signer)
    html = sekda.get(f"/pengumuman/{draft.pk}/").content.decode()
    assert 'id="two-person-rule"' in html and 'id="publish-button"' not in html
    # Posting anyway (an old tab, a crafted form): refused with the same clear message.
    response = sekda.post(f"/pengumuman/{draft.pk}/aksi/publish/", follow=True)
    assert response.status_code == 200
    assert "Pemisahan tugas" in response.content.decode()
    assert_not_published(draft)
    # Another signer of the unit sees the button.
    other = make_user(draft.issuer, "signer", full_name="Asisten Sekda")
    enable_mfa(other)
    assert 'id="publish-button"' in client_for(other).get(
        f"/pengumuman/{draft.pk}/").content.decode()


def test_the_api_refuses_with_the_rule_code(signers_with_mfa):
    draft = own_draft(signers_with_mfa)
    response = client_for(signers_with_mfa.gov_signer).post(
        f"/api/v1/announcements/{draft.pk}/publish", json.dumps({}),
        content_type="application/json")
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "two_person_rule" and "Pemisahan tugas" in error["message"]
    assert_not_published(draft)
