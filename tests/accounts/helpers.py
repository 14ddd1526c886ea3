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
