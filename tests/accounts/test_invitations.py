"""Invitations: only unit admins with MFA invite into their subtree; links are single-use,
expire, and create exactly one account with the invited unit and role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AuditEvent, Invitation, Membership, User
from common.errors import ServiceError
from tests.accounts.helpers import enrol_totp

NEW_PASSWORD = "Sangat-Rahasia-2026"


def _invite(actor, **overrides):
    data = {"unit_code": "33.74.DISKOMINFO", "email": "Baru@Semarangkota.go.id",
            "full_name": "Siti Baru", "role": "author", "nip": "199001012015032001",
            "position": "Pranata Humas"}
    data.update(overrides)
    # The link is mailed after commit; the test's transaction never commits, so run the
    # on-commit callbacks as a commit would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.invitation_create(actor=actor, ip="10.1.2.3", **data)


@pytest.fixture
def admin(personas):
    enrol_totp(personas.smg_admin)
    return personas.smg_admin


def test_admin_invites_and_invitee_accepts(admin):
    invitation, secret = _invite(admin)
    assert invitation.email == "baru@semarangkota.go.id"
    assert len(mail.outbox) == 1 and secret in mail.outbox[0].body
    assert Invitation.objects.get().token_hash != secret  # only the hash is stored

    user = services.invitation_accept(secret=secret, password=NEW_PASSWORD)
    assert user.check_password(NEW_PASSWORD)
    assert (user.email, user.nip, user.home_unit.code) == (
        "baru@semarangkota.go.id", "199001012015032001", "33.74.DISKOMINFO")
    assert list(Membership.objects.filter(user=user).values_list("unit__code", "role")) == [
        ("33.74.DISKOMINFO", "author")]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"invitation.create", "invitation.accept"} <= actions
    assert AuditEvent.objects.get(action="invitation.create").ip == "10.1.2.3"


def test_link_works_once(admin):
    _invitation, secret = _invite(admin)
    services.invitation_accept(secret=secret, password=NEW_PASSWORD)
    with pytest.raises(ServiceError) as refused:
        services.invitation_accept(secret=secret, password=NEW_PASSWORD)
    assert refused.value.code == "invitation_invalid" and refused.value.status == 410
    assert User.objects.filter(email="baru@semarangkota.go.id").count() == 1


def test_expired_link_is_refused(admin):
    invitation, secret = _invite(admin)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ServiceError) as refused:
        services.invitation_accept(secret=secret, password=NEW_PASSWORD)
    assert refused.value.code == "invitation_invalid"
    assert not User.objects.filter(email="baru@semarangkota.go.id").exists()


def test_a_new_invitation_revokes_the_older_link(admin):
    _first, old_secret = _invite(admin)
    _second, new_secret = _invite(admin)
    with pytest.raises(ServiceError):
        services.invitation_for_secret(old_secret)
    assert services.invitation_for_secret(new_secret)


def test_weak_password_keeps_the_link_usable(admin):
    _invitation, secret = _invite(admin)
    with pytest.raises(ServiceError) as refused:
        services.invitation_accept(secret=secret, password="123")
    assert refused.value.code == "invalid_password" and "password1" in refused.value.fields
    assert services.invitation_accept(secret=secret, password=NEW_PASSWORD)


def test_only_admins_with_mfa_invite_into_their_subtree(personas, admin):
    with pytest.raises(ServiceError) as refused:
        _invite(personas.smg_member)
    assert refused.value.status == 403
    with pytest.raises(ServiceError) as refused:
        _invite(admin, unit_code="33.72.DISKOMINFO")  # another city
    assert refused.value.status == 403
    with pytest.raises(ServiceError) as refused:
        _invite(admin, unit_code="33.99")
    assert refused.value.status == 404
    personas.smg_auditor.memberships.update(role="unit_admin")  # admin of 33.74, no MFA
    with pytest.raises(ServiceError) as refused:
        _invite(personas.smg_auditor)
    assert refused.value.code == "mfa_required"
    assert not Invitation.objects.exists()


def test_invitation_input_errors_name_the_fields(personas, admin):
    with pytest.raises(ServiceError) as refused:
        _invite(admin, email=personas.smg_member.email, nip="123", role="king")
    assert set(refused.value.fields) >= {"email", "nip", "role"}
    assert not Invitation.objects.exists()


def test_invite_and_accept_pages(admin):
    client = Client()
    client.force_login(admin)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("accounts:manage"), {
            "unit_code": "33.74.DISKOMINFO", "email": "tamu@semarangkota.go.id",
            "full_name": "Tamu", "role": "member", "nip": "", "position": "",
        })
    assert response.status_code == 302
    link = next(line for line in mail.outbox[0].body.splitlines() if "/undangan/" in line)
    path = link.split("127.0.0.1", 1)[1]

    invitee = Client()
    assert invitee.get(path).status_code == 200
    mismatch = invitee.post(path, {"full_name": "Tamu", "password1": NEW_PASSWORD,
                                   "password2": "lain"})
    assert mismatch.status_code == 200 and not User.objects.filter(
        email="tamu@semarangkota.go.id").exists()
    accepted = invitee.post(path, {"full_name": "Tamu Sekali", "password1": NEW_PASSWORD,
                                   "password2": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert User.objects.get(email="tamu@semarangkota.go.id").full_name == "Tamu Sekali"
    again = Client().get(path)
    assert again.status_code == 410
    assert "sudah dipakai" in again.content.decode()


def test_manage_page_refuses_non_admins(personas):
    client = Client()
    client.force_login(personas.smg_member)
    assert client.get(reverse("accounts:manage")).status_code == 403
