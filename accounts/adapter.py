"""allauth adapters: invitation-only accounts, mail links from SITE_URL, one failed-login counter
per account, primary addresses only once verified, and sessions that take their WebSockets
along."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext

from accounts.forms import normalise_nip
from accounts.models import User
from accounts.services import (
    email_address_taken,
    email_became_primary,
    email_claims_release,
    password_changed,
    session_ended,
)
from common.client_ip import client_address


class SiteFromSettings:
    """What allauth's mail templates read as `current_site`, from SITE_URL, never the request.

    Without django.contrib.sites allauth falls back to `RequestSite`, whose domain is the
    request's Host header, port included (issue 14, item 18).
    """

    name = "comms"

    def __init__(self) -> None:
        self.domain = urlsplit(settings.SITE_URL).netloc

    def __str__(self) -> str:
        return self.domain


def site_url(location: str) -> str:
    """An absolute link for a mail: `location`'s path on SITE_URL, whatever host it names."""
    parts = urlsplit(location)
    return settings.SITE_URL + parts.path + (f"?{parts.query}" if parts.query else "")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts exist only by invitation from a unit admin or by import (issue 3): the
        # sign-up URL renders allauth's "sign-up closed" page and creates nothing.
        return False

    # --- Links in e-mails: from SITE_URL ----------------------------------------------------

    def get_reset_password_from_key_url(self, key: str) -> str:
        # allauth's own construction of the path (its URL takes "uidb36-key" as one segment).
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context = dict(context)
        # Any other absolute link allauth built from the request (the "unknown account" and
        # "account exists" mails) is moved onto SITE_URL too.
        for name, value in context.items():
            if name.endswith("_url") and isinstance(value, str) and urlsplit(value).netloc:
                context[name] = site_url(value)
        context["current_site"] = SiteFromSettings()
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        # allauth's default prefix is the site name, i.e. the Host header without sites.
        return f"[{SiteFromSettings.name}] {subject}"

    # --- Failed-login limit per account ----------------------------------------------------

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """One `login_failed` counter per account, whether the login names it by e-mail or by
        NIP (issue 14, item 17), and independent of the Host header (allauth's default key
        starts with the request's site, i.e. its host and port).

        allauth calls this for the limit (`pre_authenticate`) and to clear it after a password
        reset, so both agree. A login that names no account keeps a counter of its own.
        """
        email = (credentials.get("email") or "").strip().lower()
        username = normalise_nip(credentials.get("username") or "")
        user_id = None
        if email:
            user_id = User.objects.filter(email=email).values_list("pk", flat=True).first()
        if user_id is None and email:
            # allauth also logs in by a verified second address of the account.
            user_id = EmailAddress.objects.filter(email=email, verified=True).values_list(
                "user_id", flat=True).first()
        if user_id is None and username:
            user_id = User.objects.filter(nip=username).values_list("pk", flat=True).first()
        if user_id is not None:
            return f"account:{user_id}"
        return f"login:{email or username.lower()}"

    # --- Passwords end the other sessions ---------------------------------------------------

    def set_password(self, user, password: str) -> None:
        """Every password change, set and reset of allauth's flows passes here, before the
        changing session's key is rotated: so the session to keep is still known."""
        super().set_password(user, password)
        request = self.request
        keep = None
        if request is not None and getattr(request, "user", None) is not None and (
            request.user.is_authenticated and request.user.pk == user.pk
        ):
            keep = request.session.session_key
        password_changed(user=user, keep_session_key=keep)

    # --- E-mail addresses: only verified ones become primary -------------------------------

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """Verify an added address by its link; refuse one that meanwhile became another
        person's (issue 14, item 4). A verified address that becomes primary (allauth does so
        when the person has no primary yet) is the person's own choice: recorded."""
        if email_address_taken(email=email_address.email, user=email_address.user):
            messages.error(request, gettext("Alamat e-mail ini sudah dipakai akun lain."))
            return False
        before = User.objects.filter(pk=email_address.user_id).values_list(
            "email", flat=True).first()
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            # Its owner proved it: other people's unverified claims on it are void.
            email_claims_release(emails=[email_address.email], owner_ids=[email_address.user_id])
            email_address.user.refresh_from_db(fields=["email"])
            if email_address.user.email != before:
                email_became_primary(user=email_address.user)
        return confirmed
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
        sessions = list(sessions)
        for session in sessions:
            session_ended(user=session.user, session_key=session.session_key)
        super().end_sessions(sessions)


def user_display(user: User) -> str:
    """How allauth names a user on its pages: the name, not the NIP (allauth's "username")."""
    return user.full_name or user.email
