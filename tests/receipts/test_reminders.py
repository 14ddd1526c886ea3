"""Reminders before the deadline and escalation at it: scheduled at publication as deferred
tasks, run here as the worker runs them, sending to exactly the right people."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from announcements.models import Announcement
from announcements.receipts import reminders
from announcements.receipts import services as receipts
from announcements.receipts.models import ReceiptNotice
from notifications import services as notifications
from notifications.models import Notification
from tests.conftest import make_user
from tests.receipts.conftest import client_for, enqueued, publish_ack, run_task

pytestmark = pytest.mark.django_db


def emails_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def pass_the_deadline(announcement: Announcement) -> None:
    """Time passes: the deadline is now behind us (the signed payload is not looked at)."""
    Announcement.objects.filter(pk=announcement.pk).update(
        ack_deadline=timezone.now() - timedelta(minutes=1))


@override_settings(ACK_REMINDER_HOURS=[24, 2])
def test_publication_schedules_the_reminders_and_the_escalation(p):
    deadline = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    ann = publish_ack(p, deadline=deadline)
    reminders = enqueued("send_reminders")
    assert [row.args_kwargs["kwargs"] for row in reminders] == [
        {"announcement_id": ann.pk, "hours": 24}, {"announcement_id": ann.pk, "hours": 2}]
    assert [row.run_after for row in reminders] == [deadline - timedelta(hours=24),
                                                    deadline - timedelta(hours=2)]
    [escalation] = enqueued("escalate")
    assert escalation.run_after == deadline
    assert escalation.args_kwargs["kwargs"] == {"announcement_id": ann.pk}


@override_settings(ACK_REMINDER_HOURS=[24, 2])
def test_a_reminder_round_already_past_is_not_scheduled(p):
    publish_ack(p, deadline=timezone.now() + timedelta(hours=5))
    assert [row.args_kwargs["kwargs"]["hours"] for row in enqueued("send_reminders")] == [2]


def test_no_reminders_without_acknowledgement_or_deadline(p):
    publish_ack(p, requires_ack=False, ack_deadline=None)
    assert enqueued("send_reminders") == [] and enqueued("escalate") == []


@override_settings(ACK_REMINDER_HOURS=[24])
def test_a_reminder_goes_to_exactly_those_who_have_not_acknowledged(p):
    ann = publish_ack(p)
    receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    receipts.receipt_acknowledge(user=p.smg_signer, announcement_id=ann.pk, version=1)
    [row] = enqueued("send_reminders")
    assert run_task(row) == 5
    pending = [p.smg_author, p.smg_admin, p.smg_head, p.smg_auditor, p.smg_dinkes_member]
    assert emails_to() == sorted(u.email for u in pending)
    message = mail.outbox[0]
    assert message.subject.startswith("Pengingat konfirmasi: Pemadaman listrik terjadwal")
    assert "belum mengonfirmasi" in message.body
    assert f"/pengumuman/{ann.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "<strong>" in html
    assert sorted(Notification.objects.filter(kind="ack_reminder").values_list(
        "user_id", flat=True)) == sorted(u.pk for u in pending)
    assert ReceiptNotice.objects.filter(kind="reminder", round=24).count() == 5

    # The task running again (a retried worker) sends nothing twice.
    assert run_task(row) == 0 and len(mail.outbox) == 5


@override_settings(ACK_REMINDER_HOURS=[24])
def test_a_reminder_after_a_reack_correction_says_why(p):
    from tests.receipts.conftest import correct

    ann = publish_ack(p)
    receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    correct(p, ann, requires_reack=True)
    run_task(enqueued("send_reminders")[0])
    body = next(m.body for m in mail.outbox if m.to == [p.smg_member.email])
    assert "Anda pernah mengonfirmasi versi 1" in body


def test_no_reminder_for_a_withdrawn_announcement_or_after_the_deadline(p):
    from announcements import services

    ann = publish_ack(p)
    pass_the_deadline(ann)
    assert run_task(enqueued("send_reminders")[0]) == 0
    other = publish_ack(p)
    services.announcement_withdraw(actor=p.smg_signer, announcement_id=other.pk,
                                   reason="Keliru.")
    rows = [r for r in enqueued("send_reminders")
            if r.args_kwargs["kwargs"]["announcement_id"] == other.pk]
    assert run_task(rows[0]) == 0
    assert mail.outbox == []


def test_the_escalation_tells_each_pending_persons_nearest_head(p, org):
    city_head = make_user(org.semarang, "head", full_name="Sekretaris Kota")
    ann = publish_ack(p)
    receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    [row] = enqueued("escalate")
    # Before the deadline the task does nothing (and comes back at the deadline).
    assert run_task(row) == 0 and mail.outbox == []
    pass_the_deadline(ann)
    assert run_task(row) == 6

    assert emails_to() == sorted([p.smg_head.email, city_head.email])
    to_head = next(m for m in mail.outbox if m.to == [p.smg_head.email])
    to_city = next(m for m in mail.outbox if m.to == [city_head.email])
    # Diskominfo's head gets Diskominfo's people; Dinkes has no head, so its people go to the
    # city's; the Diskominfo head who did not acknowledge is escalated to the city's head too.
    def listed(message) -> set[str]:
        return {line[2:].split(" (NIP")[0] for line in message.body.splitlines()
                if line.startswith("- ")}

    assert listed(to_head) == {u.full_name for u in (p.smg_author, p.smg_signer, p.smg_admin)}
    assert listed(to_city) == {u.full_name for u in (p.smg_dinkes_member, p.smg_head,
                                                     p.smg_auditor)}
    assert "Eskalasi: 3 pegawai" in to_head.subject
    assert to_head.alternatives[0][1] == "text/html"

    notices = {(n.user_id, n.head_id) for n in ReceiptNotice.objects.filter(kind="escalation")}
    assert notices == {
        (p.smg_author.pk, p.smg_head.pk), (p.smg_signer.pk, p.smg_head.pk),
        (p.smg_admin.pk, p.smg_head.pk), (p.smg_dinkes_member.pk, city_head.pk),
        (p.smg_head.pk, city_head.pk), (p.smg_auditor.pk, city_head.pk),
    }
    assert sorted(Notification.objects.filter(kind="ack_escalation").values_list(
        "user_id", flat=True)) == sorted([p.smg_head.pk, city_head.pk])

    # Again: nothing new.
    assert run_task(row) == 0 and len(mail.outbox) == 2

    # The issuer sees who was reminded and escalated.
    page = client_for(p.smg_author).get(f"/pengumuman/{ann.pk}/tanda-terima/").content.decode()
    assert "Dieskalasi ke kepala unit: 6 orang" in page
    assert f"{p.smg_dinkes_member.full_name} → {city_head.full_name}" in page
    csv_text = b"".join(client_for(p.smg_author).get(
        f"/pengumuman/{ann.pk}/tanda-terima.csv").streaming_content).decode()
    author_line = next(line for line in csv_text.splitlines() if p.smg_author.nip in line)
    assert author_line.endswith(",0,ya")


def spy_on_notifications():
    return mock.patch.object(reminders, "notifications_create",
                             wraps=notifications.notifications_create)


@override_settings(ACK_REMINDER_HOURS=[24])
def test_reminders_and_escalations_are_written_through_the_notifications_service(p):
    ann = publish_ack(p)
    with spy_on_notifications() as spy:
        assert run_task(enqueued("send_reminders")[0]) == 7
    [call] = spy.call_args_list
    assert call.kwargs["kind"] == "ack_reminder"
    reminded = Notification.objects.filter(kind="ack_reminder")
    assert reminded.count() == 7
    assert {n.url for n in reminded} == {f"/pengumuman/{ann.pk}/"}
    assert all(n.text.startswith("Pengingat: konfirmasi") for n in reminded)

    pass_the_deadline(ann)
    with spy_on_notifications() as spy:
        run_task(enqueued("escalate")[0])
    [call] = spy.call_args_list
    assert call.kwargs["kind"] == "ack_escalation"
    escalated = Notification.objects.filter(kind="ack_escalation")
    heads = set(ReceiptNotice.objects.filter(kind="escalation").values_list("head_id", flat=True))
    assert p.smg_head.pk in heads and {n.user_id for n in escalated} == heads
    for notification in escalated:
        people = ReceiptNotice.objects.filter(kind="escalation", head=notification.user_id)
        assert notification.text.startswith(f"{people.count()} pegawai belum mengonfirmasi")
