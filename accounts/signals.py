"""Signal receivers of the accounts app."""

from __future__ import annotations

from allauth.account.signals import email_changed
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.services import email_became_primary, session_ended


@receiver(user_logged_out)
def close_websockets_on_logout(sender, request: HttpRequest | None, user, **kwargs) -> None:
    # A signal rather than a service call: the logout view is allauth's, not ours, and
    # Django sends this signal from `logout()` before the session is flushed, so the key of
    # the session being closed is still known here. The gateway closes that session's sockets.
    if user is None or request is None:
        return
    session_ended(user=user, session_key=request.session.session_key)


@receiver(email_changed)
def record_email_chosen_by_owner(sender, request: HttpRequest | None, user, **kwargs) -> None:
    # allauth's e-mail page made another (verified: accounts.views.EmailView) address primary.
    email_became_primary(user=user)
