"""Acceptance, in a real browser against a real ASGI server: a unit admin invites; the invitee
sets a password, enrols TOTP and logs in with it; the link then refuses a second use; an
expired link is refused; the sign-up URL is closed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, User
from tests.accounts.helpers import enrol_totp, totp_code

pytestmark = pytest.mark.browser

PASSWORD = "Rahasia-Penandatangan-2026"
EMAIL = "penandatangan.baru@semarangkota.go.id"


@pytest.fixture
def server(start_asgi_server):
    # Console e-mail: the invitation mail lands in the server's log, where the test reads it.
    return start_asgi_server(EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")


def _invitation_path(server) -> str:
    text = server.log_path.read_text(errors="replace")
    paths = re.findall(r"https?://[^\s/]+(/undangan/[A-Za-z0-9_-]+/)", text)
    assert paths, server.log_tail()
    return paths[-1]


def test_invitation_to_totp_login(personas, browser_context, server):
    admin = personas.smg_admin
    enrol_totp(admin)
    from tests.conftest import session_cookie_for

    browser_context.add_cookies([{"name": "sessionid", "value": session_cookie_for(admin),
                                  "domain": "127.0.0.1", "path": "/"}])
    page = browser_context.new_page()
    page.goto(f"{server.url}/kelola/")
    page.fill("#id_email", EMAIL)
    page.fill("#id_full_name", "Penandatangan Baru")
    page.fill("#id_nip", "198502022010011002")
    page.select_option("#id_unit_code", "33.74.DISKOMINFO")
    page.select_option("#id_role", "signer")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector(".message.success")
    path = _invitation_path(server)
    browser_context.clear_cookies()

    # The invitee sets a password.
    page.goto(server.url + path)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("#accept-form button[type=submit]")
    # A signer must enrol TOTP first; allauth asks for the password once more.
    page.wait_for_url(re.compile(r"/accounts/(reauthenticate|2fa/totp/activate)/"))
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", totp_code(secret))
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/totp/activate/" not in url)
    user = User.objects.get(email=EMAIL)
    assert user.authenticator_set.filter(type="totp").exists()
    assert list(Membership.objects.filter(user=user).values_list("unit__code", "role")) == [
        ("33.74.DISKOMINFO", "signer")]

    # Log out, then log in with the password and the authenticator's code.
    page.click("header button:has-text('Keluar')")
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_login", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    # The next 30-second step: the current code was spent on enrolment (codes are single-use).
    page.fill("input[name=code]", totp_code(secret, step_offset=1))
    page.click("main button[type=submit]")
    page.goto(f"{server.url}/profil/")
    assert page.text_content("h1") == "Penandatangan Baru"
    assert page.text_content("#mfa-status").strip() == "Dua faktor aktif"

    # The link used a second time is refused.
    response = page.goto(server.url + path)
    assert response.status == 410
    assert "sudah dipakai" in page.text_content("#refusal-message")
    assert User.objects.filter(email=EMAIL).count() == 1


def test_expired_link_and_closed_signup(personas, page, server):
    enrol_totp(personas.smg_admin)
    invitation, secret = services.invitation_create(
        actor=personas.smg_admin, unit_code="33.74.DISKOMINFO", email="lambat@x.go.id",
        full_name="Lambat", role="member")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    response = page.goto(f"{server.url}/undangan/{secret}/")
    assert response.status == 410
    assert page.locator("#accept-form").count() == 0

    response = page.goto(f"{server.url}/accounts/signup/")
    assert "Pendaftaran ditutup" in page.text_content("main")
    assert page.locator("input[name=password1]").count() == 0
    assert not User.objects.filter(email="lambat@x.go.id").exists()
