"""Login by e-mail or NIP through allauth, closed sign-up, MFA at login, rate limits."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.accounts.helpers import enrol_totp, totp_code

PASSWORD = "kata-sandi-uji-123"


def _login(client: Client, login: str, password: str = PASSWORD):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def test_it_logs_in_by_email(personas):
    client = Client()
    response = _login(client, personas.smg_member.email.upper())
    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == personas.smg_member.pk


def test_it_logs_in_by_nip_also_written_in_groups(personas):
    nip = personas.smg_member.nip
    for written in (nip, f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"):
        client = Client()
        assert _login(client, written).status_code == 302
        assert int(client.session[SESSION_KEY]) == personas.smg_member.pk


def test_wrong_password_and_unknown_login_are_refused(personas):
    for login, password in ((personas.smg_member.email, "salah-sekali-123"),
                            ("000000000000000000", PASSWORD), ("nobody@x.go.id", PASSWORD)):
        client = Client()
        response = _login(client, login, password)
        assert response.status_code == 200
        assert SESSION_KEY not in client.session


def test_deactivated_user_cannot_log_in(personas):
    User.objects.filter(pk=personas.smg_member.pk).update(is_active=False)
    client = Client()
    _login(client, personas.smg_member.email)
    assert SESSION_KEY not in client.session


def test_signup_url_is_closed(db):
    client = Client()
    response = client.post(reverse("account_signup"), {
        "email": "baru@jatengprov.go.id", "password1": "sangat-rahasia-99", "password2":
        "sangat-rahasia-99",
    })
    assert response.status_code == 200
    assert "Pendaftaran ditutup" in response.content.decode()
    assert not User.objects.filter(email="baru@jatengprov.go.id").exists()
    assert "Pendaftaran ditutup" in client.get(reverse("account_signup")).content.decode()


def test_login_with_totp_requires_the_code(personas):
    secret = enrol_totp(personas.smg_signer)
    client = Client()
    response = _login(client, personas.smg_signer.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert SESSION_KEY not in client.session  # not signed in until the second factor
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and SESSION_KEY not in client.session
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert int(client.session[SESSION_KEY]) == personas.smg_signer.pk


def test_failed_logins_are_rate_limited_per_login(personas, settings):
    from django.core.cache import cache

    cache.clear()
    client = Client()
    for _attempt in range(5):
        _login(client, personas.smg_member.email, "salah-sekali-123")
    # Even the right password is refused now: allauth's login_failed limit (5 per 5 min).
    response = _login(client, personas.smg_member.email)
    assert SESSION_KEY not in client.session
    assert "Terlalu banyak percobaan masuk yang gagal" in response.content.decode()
    cache.clear()


def test_failed_logins_by_email_and_by_nip_count_for_one_account(personas):
    """3 wrong passwords by e-mail and 2 by NIP are 5 for the account: the 6th try is refused
    even with the right password, by either login (issue 14, item 17)."""
    from django.core.cache import cache

    cache.clear()
    member = personas.smg_member
    client = Client()
    for login in (member.email, member.email.upper(), member.email, member.nip,
                  f"{member.nip[:8]} {member.nip[8:14]} {member.nip[14]} {member.nip[15:]}"):
        response = _login(client, login, "salah-sekali-123")
        assert response.status_code == 200 and SESSION_KEY not in client.session
    for login in (member.nip, member.email):
        response = _login(client, login)
        assert SESSION_KEY not in client.session
        assert "Terlalu banyak percobaan masuk yang gagal" in response.content.decode()
    # Another account is not affected.
    assert _login(Client(), personas.smg_author.nip).status_code == 302
    cache.clear()


def test_a_verified_second_address_counts_for_the_same_account(personas):
    from allauth.account.models import EmailAddress
    from django.core.cache import cache

    cache.clear()
    member = personas.smg_member
    EmailAddress.objects.create(user=member, email="kedua@gmail.com", verified=True)
    assert _login(Client(), "kedua@gmail.com").status_code == 302  # allauth logs in by it
    for login in ("kedua@gmail.com", "kedua@gmail.com", member.email, member.nip, member.nip):
        _login(Client(), login, "salah-sekali-123")
    client = Client()
    _login(client, "kedua@gmail.com")
    assert SESSION_KEY not in client.session
    cache.clear()


def test_the_failed_login_limit_does_not_depend_on_the_host_header(personas, settings):
    """allauth's key began with the request's host and port: each port of an allowed host was
    a fresh set of five tries."""
    from django.core.cache import cache

    cache.clear()
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    member = personas.smg_member
    for port in range(8001, 8006):
        Client(HTTP_HOST=f"127.0.0.1:{port}").post(
            reverse("account_login"), {"login": member.email, "password": "salah-sekali-123"})
    client = Client(HTTP_HOST="localhost:9000")
    _login(client, member.email)
    assert SESSION_KEY not in client.session
    cache.clear()
