"""Logout, "log out the others", deactivation, a password change or reset, and a token's
revocation or expiry record a `session.ended` event for the gateway (which closes the matching
WebSockets; tests/realtime has the real-client tests): `{"session": hash}` for a session,
`{"session": null}` for all of a person's sockets, `{"session": null, "token": id}` for an API
token's."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import AuditEvent, User
from realtime.models import Event
from tests.accounts.helpers import enrol_totp

PASSWORD = "kata-sandi-uji-123"


def _logged_in_client(user) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]


def test_logout_records_session_ended_for_that_session(personas):
    user = personas.smg_member
    client = _logged_in_client(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("account_logout"))
    event = Event.objects.get(type="session.ended")
    assert event.data == {"session": _hash(key)}
    assert event.groups == [f"user.{user.pk}"]
    assert event.audience == {"users": [user.pk]}


def test_logging_out_the_other_sessions_ends_only_those(personas):
    user = personas.smg_member
    phone, laptop = _logged_in_client(user), _logged_in_client(user)
    phone_key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    laptop_key = laptop.cookies[settings.SESSION_COOKIE_NAME].value
    response = laptop.post(reverse("usersessions_list"))
    assert response.status_code == 302
    ended = [e.data["session"] for e in Event.objects.filter(type="session.ended")]
    assert ended == [_hash(phone_key)]
    assert laptop.get(reverse("accounts:profile")).status_code == 200
    assert phone.get(reverse("accounts:profile")).status_code == 302  # sent to login
    assert _hash(laptop_key) not in ended


def test_deactivation_ends_every_session_and_records_it(personas):
    admin, member = personas.smg_admin, personas.smg_member
    enrol_totp(admin)
    member_client = _logged_in_client(member)
    services.user_deactivate(actor=admin, user_id=member.pk, ip="10.0.0.9")

    event = Event.objects.get(type="session.ended")
    assert event.data == {"session": None}
    assert event.groups == [f"user.{member.pk}"]
    assert not User.objects.get(pk=member.pk).is_active
    assert member_client.get(reverse("accounts:profile")).status_code == 302
    record = AuditEvent.objects.get(action="user.deactivate")
    assert (record.actor, record.target_id, record.ip) == (admin, str(member.pk), "10.0.0.9")


def test_deactivation_page_requires_an_admin_of_the_person(personas):
    enrol_totp(personas.smg_admin)
    outsider = Client()
    outsider.force_login(personas.solo_member)
    url = reverse("accounts:person_deactivate", args=[personas.smg_member.pk])
    assert outsider.post(url).status_code == 404  # may not even see the person
    colleague = Client()
    colleague.force_login(personas.smg_author)
    assert colleague.post(url).status_code == 403
    assert User.objects.get(pk=personas.smg_member.pk).is_active
    assert not Event.objects.filter(type="session.ended").exists()

    admin = Client()
    admin.force_login(personas.smg_admin)
    assert admin.post(url).status_code == 302
    assert not User.objects.get(pk=personas.smg_member.pk).is_active
    reactivate = reverse("accounts:person_reactivate", args=[personas.smg_member.pk])
    assert admin.post(reactivate).status_code == 302
    assert User.objects.get(pk=personas.smg_member.pk).is_active


# --- Credentials that end: tokens and passwords (issue 14, item 6) ---------------------------


def test_revoking_a_token_records_the_tokens_end(personas):
    from accounts.tokens import token_create

    user = personas.smg_member
    token, _secret = token_create(user=user, name="cli", scopes=["read"])
    services.api_token_revoke(actor=user, token_id=token.pk)
    event = Event.objects.get(type="session.ended")
    assert event.data == {"session": None, "token": token.pk}
    assert event.groups == [f"user.{user.pk}"]
    assert event.audience == {"users": [user.pk]}
    # Revoking it again changes nothing and tells the gateway nothing.
    services.api_token_revoke(actor=user, token_id=token.pk)
    assert Event.objects.filter(type="session.ended").count() == 1


def test_a_tokens_expiry_is_scheduled_and_records_the_tokens_end(personas):
    from datetime import timedelta

    from django.test import TestCase
    from django.utils import timezone
    from django.utils.module_loading import import_string
    from django_tasks_db.models import DBTaskResult

    from accounts.models import ApiToken
    from accounts.tokens import token_create

    user = personas.smg_member
    with TestCase.captureOnCommitCallbacks(execute=True):
        token, _secret = token_create(user=user, name="cli", scopes=["read"], expires_days=7)
    [row] = DBTaskResult.objects.filter(task_path="accounts.importer.api_token_expired")
    assert row.run_after == token.expires_at
    assert row.args_kwargs["kwargs"] == {"token_id": token.pk}

    def run() -> None:
        import_string(row.task_path).call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])

    run()  # early (a worker's clock ahead): nothing to close yet
    assert not Event.objects.filter(type="session.ended").exists()
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    run()
    event = Event.objects.get(type="session.ended")
    assert event.data == {"session": None, "token": token.pk}
    assert event.groups == [f"user.{user.pk}"]


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(personas):
    user = personas.smg_member
    phone, laptop = _logged_in_client(user), _logged_in_client(user)
    phone_key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    laptop_key = laptop.cookies[settings.SESSION_COOKIE_NAME].value
    response = laptop.post(reverse("account_change_password"), {
        "oldpassword": PASSWORD, "password1": "Kata-Sandi-Baru-2026",
        "password2": "Kata-Sandi-Baru-2026",
    })
    assert response.status_code == 302
    ended = [e.data["session"] for e in Event.objects.filter(type="session.ended")]
    assert ended == [_hash(phone_key)]
    assert _hash(laptop_key) not in ended
    assert laptop.get(reverse("accounts:profile")).status_code == 200
    assert phone.get(reverse("accounts:profile")).status_code == 302


def test_a_password_reset_ends_every_session(personas):
    import re
    from urllib.parse import urlsplit

    from django.core import mail
    from django.core.cache import cache

    cache.clear()
    user = personas.smg_member
    phone, laptop = _logged_in_client(user), _logged_in_client(user)
    keys = {c.cookies[settings.SESSION_COOKIE_NAME].value for c in (phone, laptop)}
    stranger = Client()
    stranger.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body)
    form_url = stranger.get(urlsplit(link.group(0)).path)
    assert form_url.status_code == 302
    response = stranger.post(form_url["Location"], {
        "password1": "Kata-Sandi-Baru-2026", "password2": "Kata-Sandi-Baru-2026",
    })
    assert response.status_code == 302
    ended = {e.data["session"] for e in Event.objects.filter(type="session.ended")}
    assert ended == {_hash(key) for key in keys}
    assert phone.get(reverse("accounts:profile")).status_code == 302
    cache.clear()
