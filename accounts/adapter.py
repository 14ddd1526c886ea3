"""allauth adapters: invitation-only accounts, and sessions that take their WebSockets along."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import User
from comms.client_ip import client_address


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts exist only by invitation from a unit admin or by import (issue 3): the
        # sign-up URL renders allauth's "sign-up closed" page and creates nothing.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's login rate limits and session list use the platform's one rule for the
        # client address (TRUSTED_PROXY_COUNT), not a second reading of X-Forwarded-For.
        address = client_address(request)
        if address is None:
            raise PermissionDenied("Unable to determine client IP address")
        return address


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
