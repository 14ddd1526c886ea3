"""Helpers of the accounts tests: enrol a real allauth TOTP authenticator, compute codes."""

from __future__ import annotations

import time

from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value


def enrol_totp(user) -> str:
    """Give `user` a TOTP authenticator (allauth's own model and encryption); returns the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str, step_offset: int = 0) -> str:
    """RFC 6238 code for now (+ `step_offset` 30-second steps), via allauth's HOTP helper."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step_offset))


def change_email_verified(user, new: str, *, make_primary: bool = True):
    """The person changes their address on allauth's e-mail page the proper way: adds it,
    opens the verification link mailed to it, and (by default) makes it primary. Returns the
    logged-in test client."""
    import re
    from urllib.parse import urlsplit

    from django.core import mail
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    cache.clear()  # allauth mails one verification per address per 3 minutes
    client = Client()
    client.force_login(user)
    client.get(reverse("account_email"))
    client.post(reverse("account_email"), {"action_add": "", "email": new})
    message = [m for m in mail.outbox if m.to == [new]][-1]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    assert client.post(urlsplit(link).path).status_code == 302
    if make_primary:
        client.post(reverse("account_email"), {"action_primary": "", "email": new})
    return client
