"""Every lifecycle step of an announcement, and every refusal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from announcements import services
from announcements.models import (
    Announcement,
    AnnouncementVersion,
    ReviewComment,
    Status,
    VersionState,
)
from announcements.receipts.models import Receipt
from announcements.signing import crypto
from announcements.signing.models import ImmutableError
from common.errors import ServiceError
from realtime.models import Event
from tests.announcements.conftest import (
    content,
    enable_mfa,
    make_draft,
    publish,
    setda_author,
)
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_an_author_drafts_and_edits(personas):
    draft = make_draft(personas.smg_author)
    assert draft.status == Status.DRAFT
    version = draft.versions.get()
    assert version.state == VersionState.DRAFT
    assert "<strong>Balai Kota</strong>" in version.body_html
    services.announcement_edit(actor=personas.smg_author, announcement_id=draft.pk,
                               content=content(title="Judul baru", body="<b>x</b> isi"))
    version.refresh_from_db()
    assert version.title == "Judul baru"
    assert "<b>" not in version.body_html and "&lt;b&gt;" in version.body_html
    assert AuditEvent.objects.filter(action="announcement.edit").count() == 1


def test_a_member_cannot_draft(personas):
    with pytest.raises(ServiceError) as error:
        make_draft(personas.smg_member)
    assert error.value.code == "not_author"
    assert not Announcement.objects.exists()


def test_submit_then_publish_signs_fixes_recipients_and_emits(signers_with_mfa, org):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    assert Announcement.objects.get(pk=draft.pk).status == Status.IN_REVIEW
    services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)

    announcement = Announcement.objects.get(pk=draft.pk)
    version = announcement.current_version
    assert announcement.status == Status.PUBLISHED
    assert version.state == VersionState.PUBLISHED
    payload = json.loads(version.payload)
    assert payload["title"] == version.title and payload["body"] == version.body
    assert payload["signer"]["nip"] == p.smg_signer.nip
    assert payload["supersedes"] is None
    assert crypto.check_version(version).ok
    # Everyone in Kota Semarang and below (home unit or membership), nobody from Surakarta.
    recipients = set(Receipt.objects.filter(announcement=announcement)
                     .values_list("user__full_name", flat=True))
    assert {"ASN Semarang", "ASN Dinkes", "Auditor Semarang", "Penyusun Semarang"} <= recipients
    assert "ASN Surakarta" not in recipients and "Sekda Jateng" not in recipients
    event = Event.objects.get(type="announcement.published")
    assert event.groups == ["unit.33.74"]
    assert event.audience == {"units": ["33.74"], "subunits": True, "roles": []}
    assert set(event.data) == {"id", "version", "title", "priority", "issuer",
                               "reference_number", "published_at", "requires_ack",
                               "ack_deadline", "verify_code", "url"}
    assert event.data["issuer"] == {"code": "33.74.DISKOMINFO",
                                    "name": "Diskominfo Kota Semarang"}
    assert AuditEvent.objects.filter(action="announcement.publish").exists()


def test_recipients_are_limited_to_roles_and_fixed_at_publication(signers_with_mfa, org):
    p = signers_with_mfa
    announcement = publish(p.smg_author, p.smg_signer, audience_units=("33.74.DISKOMINFO",),
                           include_subunits=False, roles=("signer", "head"))
    names = set(announcement.receipts.values_list("user__full_name", flat=True))
    assert names == {"Kadis Semarang", "Kepala Semarang"}
    make_user(org.semarang_diskominfo, "head", full_name="Kepala Baru")
    assert announcement.receipts.count() == 2  # a later head is not a silent recipient


def test_a_receipt_names_the_home_unit_when_addressed_else_the_first_matching_unit(
    signers_with_mfa, org,
):
    from tests.factories import MembershipFactory

    p = signers_with_mfa
    # Home unit and another membership both addressed: the home unit.
    both = make_user(org.semarang_dinkes, full_name="Rumah dan anggota")
    MembershipFactory(user=both, unit=org.semarang_diskominfo, role="head")
    # Home unit outside the audience, two memberships inside: the first (smallest id) of them.
    visitor = make_user(org.solo_diskominfo, full_name="Tamu")
    MembershipFactory(user=visitor, unit=org.semarang_dinkes, role="head")
    MembershipFactory(user=visitor, unit=org.semarang_diskominfo, role="member")
    # Home unit only, no membership row at all: counts as a member there.
    home_only = make_user(org.semarang, full_name="Rumah saja")
    home_only.memberships.all().delete()
    make_user(org.semarang_dinkes, full_name="Nonaktif", is_active=False)

    def units_of(**audience) -> dict[str, str]:
        announcement = publish(p.smg_author, p.smg_signer, **audience)
        return dict(announcement.receipts.values_list("user__full_name", "unit__code"))

    everyone = units_of(audience_units=("33.74",))
    first_of_visitor = min((org.semarang_dinkes, org.semarang_diskominfo), key=lambda u: u.pk)
    assert everyone["Rumah dan anggota"] == "33.74.DINKES"
    assert everyone["Tamu"] == first_of_visitor.code
    assert everyone["Rumah saja"] == "33.74"
    assert everyone["Penyusun Semarang"] == "33.74.DISKOMINFO"
    assert "Nonaktif" not in everyone and "ASN Surakarta" not in everyone

    # Heads only: home units do not count, memberships decide the unit.
    heads = units_of(audience_units=("33.74",), roles=("head",))
    assert heads == {"Rumah dan anggota": "33.74.DISKOMINFO", "Tamu": "33.74.DINKES",
                     "Kepala Semarang": "33.74.DISKOMINFO"}

    # One OPD without sub-units, members: the visitor through the membership there.
    members = units_of(audience_units=("33.74.DISKOMINFO",), include_subunits=False,
                       roles=("member",))
    assert members["Tamu"] == "33.74.DISKOMINFO"
    assert members["ASN Semarang"] == "33.74.DISKOMINFO"
    assert "Rumah dan anggota" not in members and "Rumah saja" not in members


def test_receipts_are_inserted_with_one_statement(signers_with_mfa, org):
    from django.test.utils import CaptureQueriesContext

    p = signers_with_mfa
    publish(p.smg_author, p.smg_signer)  # warm-up: creates the unit's key
    for n in range(30):
        make_user(org.semarang_dinkes, full_name=f"ASN Dinkes {n}")

    def publish_counting(**overrides) -> tuple[int, list[str]]:
        draft = make_draft(p.smg_author, **overrides)
        services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
        with CaptureQueriesContext(connection) as queries:
            services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)
        return draft.receipts.count(), [q["sql"] for q in queries.captured_queries]

    many, many_sql = publish_counting(audience_units=("33.74",))
    few, few_sql = publish_counting(audience_units=("33.74.DISKOMINFO",),
                                    include_subunits=False)
    assert many >= few + 30
    # The same statements whatever the audience size: one INSERT … SELECT for all receipts.
    assert len(many_sql) == len(few_sql)
    assert sum("INSERT INTO" in q and "receipt" in q for q in many_sql) == 1


@pytest.mark.services
def test_the_log_lock_is_taken_after_the_receipts_are_written(require_postgres,
                                                              signers_with_mfa):
    # The log's advisory lock serialises publications until commit: receipts (the bulk of a
    # publication) are written before it so that concurrent publications overlap, and the
    # event lock comes after it, never before (no lock cycle).
    from django.test.utils import CaptureQueriesContext

    from announcements.transparency.services import LOG_LOCK_KEY
    from realtime.outbox import EVENT_LOCK_KEY

    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    with CaptureQueriesContext(connection) as queries:
        services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)
    sql = [q["sql"] for q in queries.captured_queries]
    receipts = next(i for i, q in enumerate(sql) if q.startswith("INSERT INTO")
                    and "announcements_receipt" in q)
    log_lock = next(i for i, q in enumerate(sql) if f"pg_advisory_xact_lock({LOG_LOCK_KEY})" in q)
    event_lock = next(i for i, q in enumerate(sql)
                      if f"pg_advisory_xact_lock({EVENT_LOCK_KEY})" in q)
    assert receipts < log_lock < event_lock


def test_an_author_cannot_publish(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=p.smg_author, announcement_id=draft.pk)
    assert error.value.code == "not_signer"
    assert Announcement.objects.get(pk=draft.pk).status == Status.IN_REVIEW


def test_a_signer_of_another_unit_cannot_publish(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=p.gov_signer, announcement_id=draft.pk)
    assert error.value.code == "not_signer"
    assert not Receipt.objects.exists()


def test_a_signer_without_mfa_cannot_publish(personas):
    draft = make_draft(personas.smg_author)
    services.announcement_submit(actor=personas.smg_author, announcement_id=draft.pk)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=personas.smg_signer, announcement_id=draft.pk)
    assert (error.value.code, error.value.status) == ("mfa_required", 403)
    assert Announcement.objects.get(pk=draft.pk).current_version is None


def test_a_draft_cannot_be_published_without_review(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    with pytest.raises(ServiceError) as error:
        services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)
    assert error.value.code == "invalid_state"


def test_a_signer_returns_with_a_comment(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    with pytest.raises(ServiceError):
        services.announcement_return(actor=p.smg_signer, announcement_id=draft.pk, comment=" ")
    services.announcement_return(actor=p.smg_signer, announcement_id=draft.pk,
                                 comment="Nomor surat salah.")
    assert Announcement.objects.get(pk=draft.pk).status == Status.DRAFT
    comment = ReviewComment.objects.get()
    assert comment.body == "Nomor surat salah." and comment.kind == "returned"
    # Back to the author, who may edit and submit again.
    services.announcement_edit(actor=p.smg_author, announcement_id=draft.pk,
                               content=content(reference_number="800/124/2026"))
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)


def test_a_regency_cannot_address_another_regency(personas):
    with pytest.raises(ServiceError) as error:
        make_draft(personas.smg_author, audience_units=("33.74", "33.72"))
    assert "audience.units" in error.value.fields
    assert not Announcement.objects.exists()


def test_a_provincial_unit_may_address_the_whole_province(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(setda_author(), p.gov_signer, issuer_code="33.SETDA",
                           audience_units=("33",))
    names = set(announcement.receipts.values_list("user__full_name", flat=True))
    assert {"ASN Surakarta", "ASN Semarang", "Penyusun Bms"} <= names


def test_a_published_version_cannot_be_edited_by_any_path(published, personas):
    version = published.current_version
    version.title = "Diubah"
    with pytest.raises(ImmutableError):
        version.save()
    with pytest.raises(ImmutableError):
        AnnouncementVersion.objects.get(pk=version.pk).delete()
    # The edit service finds no draft to edit.
    with pytest.raises(ServiceError) as error:
        services.announcement_edit(actor=personas.smg_author, announcement_id=published.pk,
                                   content=content(title="Diubah"))
    assert error.value.code == "invalid_state"
    assert AnnouncementVersion.objects.get(pk=version.pk).title != "Diubah"


def test_the_database_refuses_to_update_a_published_version(published, require_postgres):
    version = published.current_version
    with pytest.raises(DatabaseError), transaction.atomic():
        AnnouncementVersion.objects.filter(pk=version.pk).update(title="Diubah")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM announcements_announcementversion WHERE id = %s",
                       [version.pk])
    assert AnnouncementVersion.objects.get(pk=version.pk).title == version.title


def test_a_correction_supersedes_on_publication(published, personas):
    p = personas
    first = published.current_version
    services.announcement_correct(actor=p.smg_author, announcement_id=published.pk,
                                  title="Pemadaman listrik diundur", body="Diundur ke pukul 13.00.",
                                  reason="Jadwal PLN berubah.", requires_reack=True)
    # Until published the first version stays in force.
    assert Announcement.objects.get(pk=published.pk).current_version_id == first.pk
    services.announcement_submit(actor=p.smg_author, announcement_id=published.pk)
    services.announcement_publish(actor=p.smg_signer, announcement_id=published.pk)
    announcement = Announcement.objects.get(pk=published.pk)
    second = announcement.current_version
    assert second.number == 2 and second.requires_reack
    assert second.supersedes_hash == first.content_hash
    assert json.loads(second.payload)["supersedes"] == first.content_hash
    assert json.loads(second.payload)["correction_reason"] == "Jadwal PLN berubah."
    assert Event.objects.filter(type="announcement.corrected").count() == 1
    # Receipts are not duplicated by a correction.
    assert announcement.receipts.count() == Receipt.objects.filter(
        announcement=announcement).values("user").distinct().count()


def test_a_correction_needs_a_reason(published, personas):
    with pytest.raises(ServiceError) as error:
        services.announcement_correct(actor=personas.smg_author, announcement_id=published.pk,
                                      title="x", body="y", reason="")
    assert "reason" in error.value.fields
    assert published.versions.count() == 1


def test_withdrawal_is_a_signed_record(published, personas):
    withdrawal = services.announcement_withdraw(
        actor=personas.smg_signer, announcement_id=published.pk, reason="Dibatalkan."
    )
    assert Announcement.objects.get(pk=published.pk).status == Status.WITHDRAWN
    assert crypto.check_withdrawal(withdrawal).ok
    payload = json.loads(withdrawal.payload)
    assert payload["withdrawn_hash"] == published.current_version.content_hash
    assert Event.objects.filter(type="announcement.withdrawn").count() == 1
    with pytest.raises(ServiceError):
        services.announcement_withdraw(actor=personas.smg_signer,
                                       announcement_id=published.pk, reason="lagi")


def test_an_author_cannot_withdraw(published, personas):
    with pytest.raises(ServiceError) as error:
        services.announcement_withdraw(actor=personas.smg_author, announcement_id=published.pk,
                                       reason="x")
    assert error.value.code == "not_signer"


def run_task_worker() -> None:
    """The real worker (`manage.py db_worker --batch`) in its own process, on the test DB."""
    import subprocess
    import sys

    from tests.conftest import ROOT, server_env

    result = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--queue-name", "*",
         "--no-startup-delay", "--no-reload"],
        cwd=ROOT, env=server_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_scheduled_publication_runs_from_the_task_worker(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    later = timezone.now() + timedelta(hours=2)
    services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk, publish_at=later)
    announcement = Announcement.objects.get(pk=draft.pk)
    assert announcement.status == Status.SCHEDULED
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get()
    assert task.run_after == later
    # The worker does not run it before its time …
    run_task_worker()
    assert Announcement.objects.get(pk=draft.pk).status == Status.SCHEDULED
    # … and publishes when the time has come (the schedule moved into the past).
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    AnnouncementVersion.objects.filter(pk=announcement.versions.get().pk).update(
        scheduled_for=timezone.now() - timedelta(seconds=1))
    run_task_worker()
    announcement = Announcement.objects.get(pk=draft.pk)
    assert announcement.status == Status.PUBLISHED
    assert announcement.current_version.signer == p.smg_signer
    assert announcement.receipts.exists()


def test_a_returned_scheduled_version_is_not_published(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk,
                                  publish_at=timezone.now() + timedelta(hours=1))
    services.announcement_return(actor=p.smg_signer, announcement_id=draft.pk, comment="Tunda.")
    version = draft.versions.get()
    assert services.announcement_publish_scheduled(version_id=version.pk) is None
    assert Announcement.objects.get(pk=draft.pk).status == Status.DRAFT


def test_a_unit_without_a_key_gets_one_on_first_publish(signers_with_mfa):
    from announcements.signing.models import SigningKey

    assert not SigningKey.objects.exists()
    announcement = publish(signers_with_mfa.smg_author, signers_with_mfa.smg_signer)
    key = SigningKey.objects.get()
    assert key.unit.code == "33.74.DISKOMINFO"
    assert announcement.current_version.key_id == key.key_id


def test_signer_mfa_fixture_is_real(personas):
    from accounts.permissions import user_has_mfa

    assert not user_has_mfa(personas.smg_signer)
    enable_mfa(personas.smg_signer)
    assert user_has_mfa(personas.smg_signer)
