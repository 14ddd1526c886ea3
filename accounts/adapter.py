"""allauth adapters: invitation-only accounts, and sessions that take their WebSockets along."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.http import HttpRequest

from accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts exist only by invitation from a unit admin or by import (issue 3): the
        # sign-up URL renders allauth's "sign-up closed" page and creates nothing.
        return False

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
