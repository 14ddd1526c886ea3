"""API tokens: 401 JSON errors for bad tokens; the profile page (publish needs MFA and
re-authentication); the operator's create_token command (audited, token on the last line)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, AuditEvent
from accounts.tokens import token_create
from tests.accounts.helpers import enrol_totp

PASSWORD = "kata-sandi-uji-123"


def _get_me(secret: str):
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")


def _assert_401(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "invalid_token"
    assert body["error"]["message"]


def test_a_valid_token_authenticates(personas):
    _token, secret = token_create(user=personas.smg_member, name="cli", scopes=["read"])
    response = _get_me(secret)
    assert response.status_code == 200
    assert response.json()["email"] == personas.smg_member.email
    assert response.json()["token_scopes"] == ["read"]


@pytest.mark.parametrize("secret", [
    "garbage", "cmt_", "cmt_" + "x" * 43, "Bearer", "cmt_" + "a" * 300, "çmt_ü",
])
def test_malformed_tokens_get_401_json(db, secret):
    _assert_401(_get_me(secret))


def test_expired_token_gets_401_json(personas):
    token, secret = token_create(user=personas.smg_member, name="old", scopes=["read"],
                                 expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _assert_401(_get_me(secret))


def test_revoked_token_gets_401_json(personas):
    token, secret = token_create(user=personas.smg_member, name="cli", scopes=["read"])
    client = Client()
    client.force_login(personas.smg_member)
    assert client.post(reverse("accounts:token_revoke", args=[token.pk])).status_code == 302
    _assert_401(_get_me(secret))
    assert AuditEvent.objects.filter(action="token.revoke", target_id=str(token.pk)).exists()


def test_token_of_deactivated_user_gets_401(personas):
    _token, secret = token_create(user=personas.smg_member, name="cli", scopes=["read"])
    personas.smg_member.is_active = False
    personas.smg_member.save()
    _assert_401(_get_me(secret))


def test_no_credentials_gets_401_json(db):
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_profile_creates_a_read_token_shown_once(personas):
    client = Client()
    client.force_login(personas.smg_member)
    response = client.post(reverse("accounts:token_create"),
                           {"name": "laptop", "scopes": ["read", "write"]})
    assert response.status_code == 302
    page = client.get(reverse("accounts:profile")).content.decode()
    token = ApiToken.objects.get(user=personas.smg_member)
    secret = page.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert ApiToken.hash_secret(secret) == token.token_hash
    assert token.scopes == ["read", "write"]
    assert secret not in client.get(reverse("accounts:profile")).content.decode()  # once


def test_publish_token_needs_mfa(personas):
    client = Client()
    client.post(reverse("account_login"), {"login": personas.gov_signer.email,
                                           "password": PASSWORD})
    _reauthenticate(client)
    client.post(reverse("accounts:token_create"), {"name": "bot", "scopes": ["publish"]})
    assert not ApiToken.objects.exists()
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Aktifkan autentikasi dua faktor (TOTP atau passkey)" in page


def _reauthenticate(client: Client) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def test_publish_token_needs_reauthentication_then_is_created(personas):
    user = personas.gov_signer
    enrol_totp(user)
    client = Client()
    client.force_login(user)
    response = client.post(reverse("accounts:token_create"),
                           {"name": "bot", "scopes": ["read", "publish"]})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiToken.objects.exists()
    # allauth replays the suspended POST after the password is confirmed.
    replay = client.post(response["Location"], {"password": PASSWORD})
    assert replay.status_code == 302
    token = ApiToken.objects.get(user=user)
    assert token.scopes == ["publish", "read"]
    record = AuditEvent.objects.get(action="token.create")
    assert record.actor == user and record.data["scopes"] == ["publish", "read"]


def test_create_token_command_prints_the_token_last(personas):
    out = StringIO()
    call_command("create_token", personas.smg_member.nip, "--name", "ci", "--scope", "read",
                 "--scope", "publish", "--expires-days", "30", stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(token_hash=ApiToken.hash_secret(secret))
    assert token.user == personas.smg_member and token.scopes == ["publish", "read"]
    assert token.expires_at > timezone.now() + timedelta(days=29)
    record = AuditEvent.objects.get(action="token.create")
    assert record.actor is None and record.data["user"] == personas.smg_member.email
    assert _get_me(secret).status_code == 200


def test_create_token_command_refuses_unknown_user_and_scope(db):
    with pytest.raises(CommandError):
        call_command("create_token", "nobody@x.go.id", "--name", "ci")
    with pytest.raises(CommandError):
        call_command("create_token", "nobody@x.go.id", "--name", "ci", "--scope", "admin")
    assert not ApiToken.objects.exists()


def test_reactivation_does_not_revive_the_tokens_deactivation_suspended(personas):
    from accounts import services

    admin, member = personas.smg_admin, personas.smg_member
    enrol_totp(admin)
    token, secret = token_create(user=member, name="cli", scopes=["read"])
    assert _get_me(secret).status_code == 200
    services.user_deactivate(actor=admin, user_id=member.pk)
    _assert_401(_get_me(secret))
    services.user_reactivate(actor=admin, user_id=member.pk)

    _assert_401(_get_me(secret))
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    record = AuditEvent.objects.get(action="user.deactivate")
    assert record.data == {"tokens_revoked": 1}
    # The person issues a new one, which works.
    _new, fresh = token_create(user=member, name="cli-2", scopes=["read"])
    assert _get_me(fresh).status_code == 200
