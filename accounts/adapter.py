"""allauth adapters: invitation-only accounts, and sessions that take their WebSockets along."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.http import HttpRequest

from accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts exist only by invitation from a unit admin or by import (issue 3): the
        # sign-up URL renders allauth's "sign-up closed" page and creates nothing.
        return False

    # --- Failed-login limit per account ----------------------------------------------------

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """One `login_failed` counter per account, whether the login names it by e-mail or by
        NIP (issue 14, item 17), and independent of the Host header (allauth's default key
        starts with the request's site, i.e. its host and port).

        allauth calls this for the limit (`pre_authenticate`) and to clear it after a password
        reset, so both agree. A login that names no account keeps a counter of its own.
        """
        from accounts.forms import normalise_nip

        email = (credentials.get("email") or "").strip().lower()
        username = normalise_nip(credentials.get("username") or "")
        user_id = None
        if email:
            user_id = User.objects.filter(email=email).values_list("pk", flat=True).first()
        if user_id is None and username:
            user_id = User.objects.filter(nip=username).values_list("pk", flat=True).first()
        if user_id is not None:
            return f"account:{user_id}"
        return f"login:{email or username.lower()}"

    # --- Passwords end the other sessions ---------------------------------------------------

    def set_password(self, user, password: str) -> None:
        """Every password change, set and reset of allauth's flows passes here, before the
        changing session's key is rotated: so the session to keep is still known."""
        from accounts.services import password_changed

        super().set_password(user, password)
        request = self.request
        keep = None
        if request is not None and getattr(request, "user", None) is not None and (
            request.user.is_authenticated and request.user.pk == user.pk
        ):
            keep = request.session.session_key
        password_changed(user=user, keep_session_key=keep)


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    def end_sessions(self, sessions) -> None:
        """"Log out the others" (and any ended session) also closes those sessions' sockets."""
        from accounts.services import session_ended

        sessions = list(sessions)
        for session in sessions:
            session_ended(user=session.user, session_key=session.session_key)
        super().end_sessions(sessions)


def user_display(user: User) -> str:
    """How allauth names a user on its pages: the name, not the NIP (allauth's "username")."""
    return user.full_name or user.email
