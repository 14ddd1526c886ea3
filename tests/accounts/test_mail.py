"""The mails the platform sends, as sent (django.core.mail.outbox): every absolute link is built
from SITE_URL, never from the request's Host header (issue 14, item 18); plain-text bodies and
subjects carry the characters as typed, not HTML entities (item 19)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from accounts import services
from accounts.models import Unit, User
from tests.accounts.helpers import enrol_totp

ATTACKER_HOSTS = ["127.0.0.1:6666", "evil.example"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def _assert_links_on_site_url(message, settings) -> None:
    links = _links(message.body)
    assert links, message.body
    for link in links:
        assert link.startswith(settings.SITE_URL + "/"), link
    for host in ATTACKER_HOSTS:
        assert host not in message.body and host not in message.subject


@pytest.mark.parametrize("host", ATTACKER_HOSTS)
def test_password_reset_link_comes_from_site_url_not_the_host_header(personas, settings, host):
    # A deployment that accepts any Host (ALLOWED_HOSTS = *): the worst case for a reset link.
    settings.ALLOWED_HOSTS = ["*"]
    client = Client(HTTP_HOST=host)
    response = client.post(reverse("account_reset_password"),
                           {"email": personas.smg_member.email})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == [personas.smg_member.email]
    _assert_links_on_site_url(message, settings)
    [link] = [u for u in _links(message.body) if "/accounts/password/reset/key/" in u]
    # The link works on the real site.
    path = link[len(settings.SITE_URL):]
    assert Client().get(path).status_code in (200, 302)


def test_verification_link_comes_from_site_url_not_the_host_header(personas, settings):
    settings.ALLOWED_HOSTS = ["*"]
    client = Client(HTTP_HOST="127.0.0.1:6666")
    client.force_login(personas.smg_member)
    client.post(reverse("account_email"), {"action_add": "", "email": "baru@gmail.com"})
    [message] = mail.outbox
    assert "/accounts/confirm-email/" in message.body
    _assert_links_on_site_url(message, settings)


def test_invitation_link_comes_from_site_url_not_the_host_header(personas, settings):
    settings.ALLOWED_HOSTS = ["*"]
    admin = personas.smg_admin
    enrol_totp(admin)
    client = Client(HTTP_HOST="evil.example")
    client.force_login(admin)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("accounts:manage"), {
            "email": "baru@semarangkota.go.id", "full_name": "Siti Baru", "nip": "",
            "position": "", "unit_code": "33.74.DISKOMINFO", "role": "member",
        })
    assert response.status_code == 302
    [message] = mail.outbox
    _assert_links_on_site_url(message, settings)


def test_invitation_mail_shows_names_as_typed(personas):
    admin = personas.smg_admin
    enrol_totp(admin)
    Unit.objects.filter(code="33.74.DISKOMINFO").update(
        name="Dinas Komunikasi & Informatika \"Kota\" Semarang")
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.invitation_create(
            actor=admin, unit_code="33.74.DISKOMINFO", email="maruf@semarangkota.go.id",
            full_name="Ma'ruf Al-Amin <Plt>", role="member",
        )
    [message] = mail.outbox
    assert "Yth. Ma'ruf Al-Amin <Plt>," in message.body
    assert "Dinas Komunikasi & Informatika \"Kota\" Semarang" in message.body
    assert message.subject.endswith("Dinas Komunikasi & Informatika \"Kota\" Semarang")
    for text in (message.body, message.subject):
        assert "&#x27;" not in text and "&amp;" not in text and "&quot;" not in text


@override_settings(ACK_REMINDER_HOURS=[24])
def test_reminder_and_escalation_mails_show_titles_and_names_as_typed(personas):
    """The receipts mails (reminder, escalation) are plain text too."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from announcements.models import Announcement
    from tests.announcements.conftest import enable_mfa, publish

    enable_mfa(personas.smg_signer)
    User.objects.filter(pk=personas.smg_member.pk).update(full_name="Ma'ruf & Sons")
    User.objects.filter(pk=personas.smg_head.pk).update(full_name="Kepala 'Dinas'")
    title = "Rapat \"Ma'ruf\" & evaluasi <SPBE>"
    ann = publish(personas.smg_author, personas.smg_signer, title=title, requires_ack=True,
                  ack_deadline=timezone.now() + timedelta(days=3))
    rows = DBTaskResult.objects.filter(args_kwargs__kwargs__announcement_id=ann.pk)
    from announcements.receipts.reminders import escalate_pending, remind_pending

    assert rows.filter(task_path__endswith="send_reminders").exists()
    remind_pending(announcement_id=ann.pk, hours=24)
    reminder = next(m for m in mail.outbox if m.to == [personas.smg_member.email])
    assert title in reminder.subject and title in reminder.body
    assert "Yth. Ma'ruf & Sons," in reminder.body

    mail.outbox.clear()
    Announcement.objects.filter(pk=ann.pk).update(
        ack_deadline=timezone.now() - timedelta(minutes=1))
    escalate_pending(announcement_id=ann.pk)
    escalation = next(m for m in mail.outbox if m.to == [personas.smg_head.email])
    assert title in escalation.subject and title in escalation.body
    assert "Yth. Kepala 'Dinas'," in escalation.body and "- Ma'ruf & Sons" in escalation.body
    for message in (reminder, escalation):
        for text in (message.body, message.subject):
            assert "&#x27;" not in text and "&amp;" not in text and "&quot;" not in text
