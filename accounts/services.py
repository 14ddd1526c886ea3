"""Write paths for people and organisation: one function per business action.

Pages, the JSON API and management commands call these; none of them saves a model itself.
Each runs in `transaction.atomic`, validates before writing, and audits administrative acts.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.audit import audit
from accounts.models import (
    ApiToken,
    Invitation,
    Membership,
    Role,
    TokenScope,
    User,
)
from accounts.permissions import (
    access_managed_user,
    access_unit_admin,
    access_user,
    require_mfa,
)
from accounts.tokens import token_create
from common.errors import NotFound, ServiceError
from realtime.audience import SESSION_ENDED, SUBSCRIPTION_CHANGED, session_hash
from realtime.outbox import emit, emit_credentials_revoked

# --- WebSockets follow sessions ---------------------------------------------------------------


def session_ended(*, user: User, session_key: str | None) -> None:
    """Tell the gateway to close the user's sockets of one session (or all, when None)."""
    with transaction.atomic():
        emit(
            type=SESSION_ENDED,
            data={"session": session_hash(session_key)},
            groups=[f"user.{user.pk}"],
            audience={"users": [user.pk]},
        )


def token_ended(*, user_id: int, token_id: int) -> None:
    """Tell the gateway to close the sockets opened with one API token (revoked or expired)."""
    with transaction.atomic():
        emit_credentials_revoked(user_id=user_id, token_ids=[token_id])


def password_changed(*, user: User, keep_session_key: str | None) -> None:
    """A new password (changed, set or reset) ends every other session of the person.

    Django already refuses those sessions at their next request (the session's auth hash no
    longer matches), but their WebSockets would stay open: ending the sessions through
    allauth.usersessions closes the sockets too (`UserSessionsAdapter.end_sessions`).
    `keep_session_key`: the session in which the person changed it, which stays signed in.
    """
    from allauth.usersessions.adapter import get_adapter as get_sessions_adapter
    from allauth.usersessions.models import UserSession

    sessions = UserSession.objects.filter(user=user)
    if keep_session_key:
        sessions = sessions.exclude(session_key=keep_session_key)
    with transaction.atomic():
        get_sessions_adapter().end_sessions(list(sessions))


# --- E-mail addresses ---------------------------------------------------------------------
# A person's identity comes from the organisation: the address of their invitation or import
# row. They may add addresses on allauth's e-mail page, but an address becomes primary (the
# one imports, invitations, login and password reset go by) only once verified by its link;
# another person's address is never stored (issue 14, item 4).


def email_address_taken(*, email: str, user: User | None = None) -> bool:
    """Whether the address is another person's: their account's e-mail or a verified one.

    A mere unverified claim (someone typed it on their e-mail page) does not count: it proves
    nothing, and is dropped when the address's real owner arrives (`email_claims_release`).
    """
    from allauth.account.models import EmailAddress

    email = (email or "").strip().lower()
    accounts = User.objects.filter(email=email)
    verified = EmailAddress.objects.filter(email=email, verified=True)
    if user is not None:
        accounts = accounts.exclude(pk=user.pk)
        verified = verified.exclude(user_id=user.pk)
    return accounts.exists() or verified.exists()


def email_claims_release(*, emails: list[str], owner_ids: list[int] | None = None) -> int:
    """Drop other people's unverified claims on addresses that now belong to their owner."""
    from allauth.account.models import EmailAddress

    claims = EmailAddress.objects.filter(email__in=emails, verified=False)
    if owner_ids:
        claims = claims.exclude(user_id__in=owner_ids)
    deleted, _by_model = claims.delete()
    return deleted


def email_addresses_sync(*, user: User) -> None:
    """The address the organisation gave the person counts as verified on their e-mail page.

    allauth would list it as unverified (it creates the record lazily, for accounts made by
    the import or an invitation); then switching back to it would need a verification mail.
    """
    from allauth.account.models import EmailAddress

    if not user.is_authenticated or user.email_changed_by_owner or not user.email:
        return
    if EmailAddress.objects.filter(email=user.email, verified=True).exists():
        return  # the person's already, or (data from before this rule) someone else's
    with transaction.atomic():
        EmailAddress.objects.filter(user=user, primary=True).update(primary=False)
        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )


def email_primary_check(*, user: User, email: str) -> None:
    """Refuse, with a clear message, to make an address primary unless it is the person's own
    and verified (ServiceError); allauth's flow then makes it primary."""
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.filter(user=user, email=(email or "").strip().lower()).first()
    if address is None:
        raise ServiceError(
            "not_found", gettext("Alamat e-mail ini tidak ada di akun Anda."), status=404
        )
    if email_address_taken(email=address.email, user=user):
        raise ServiceError("email_taken", gettext("Alamat e-mail ini sudah dipakai akun lain."))
    if not address.verified:
        raise ServiceError(
            "email_unverified",
            gettext("Verifikasi alamat ini dulu melalui tautan yang dikirim ke alamat itu; "
                    "baru setelah itu alamat ini dapat dijadikan utama."),
        )


def email_became_primary(*, user: User) -> None:
    """The person made another verified address their primary one (their own choice)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(email_changed_by_owner=True)
        audit(actor=user, action="user.email_change", target=user,
              data={"email": User.objects.values_list("email", flat=True).get(pk=user.pk)})
    user.email_changed_by_owner = True


# --- Invitations --------------------------------------------------------------------------


def invitation_ttl() -> timedelta:
    return timedelta(hours=settings.INVITATION_TTL_HOURS)


def invitation_url(secret: str) -> str:
    return settings.SITE_URL + reverse("accounts:invitation_accept", args=[secret])


def invitation_create(
    *,
    actor: User,
    unit_code: str,
    email: str,
    full_name: str,
    role: str,
    nip: str = "",
    position: str = "",
    ip: str | None = None,
) -> tuple[Invitation, str]:
    """A unit admin invites someone into their subtree; returns the invitation and its secret.

    The link is mailed after commit. An earlier pending invitation to the same address is
    revoked, so that only the newest link works.
    """
    unit = access_unit_admin(actor, unit_code)
    email = (email or "").strip().lower()
    nip = (nip or "").strip().replace(" ", "")
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [gettext("Peran tidak dikenal.")]
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = [gettext("E-mail ini sudah terdaftar; ubah perannya di halaman unit.")]
    elif email_address_taken(email=email):
        # Verified as a second address of someone's account: inviting it would give two
        # accounts one address (and logins by it to the older one). A conflict, not a takeover.
        errors["email"] = [gettext("Alamat e-mail ini sudah dipakai akun lain.")]
    if nip and User.objects.filter(nip=nip).exists():
        errors["nip"] = [gettext("NIP ini sudah terdaftar.")]
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation(
        email=email,
        full_name=(full_name or "").strip(),
        nip=nip,
        position=(position or "").strip(),
        unit=unit,
        role=role,
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
        invited_by=actor,
        created_at=now,
        expires_at=now + invitation_ttl(),
    )
    try:
        invitation.full_clean(exclude=["invited_by", "accepted_user"])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ServiceError("invalid", gettext("Undangan tidak valid."), fields=errors)
    with transaction.atomic():
        Invitation.objects.filter(
            email=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=now)
        invitation.save()
        audit(
            actor=actor, action="invitation.create", target=invitation, ip=ip,
            data={"email": email, "unit": unit.code, "role": role},
        )
        link = invitation_url(secret)
        # Mail after commit: a rolled-back invitation must not send a working-looking link.
        transaction.on_commit(lambda: _send_invitation(invitation, link))
    return invitation, secret


def _send_invitation(invitation: Invitation, link: str) -> None:
    context = {"invitation": invitation, "link": link, "ttl_hours": settings.INVITATION_TTL_HOURS}
    send_mail(
        subject=render_to_string("accounts/email/invitation_subject.txt", context).strip(),
        message=render_to_string("accounts/email/invitation_message.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_for_secret(secret: str) -> Invitation:
    """The pending invitation for a link, or ServiceError `invitation_invalid` (410)."""
    invitation = (
        Invitation.objects.select_related("unit")
        .filter(token_hash=hashlib.sha256((secret or "").encode()).hexdigest())
        .first()
    )
    if invitation is None or not invitation.is_pending():
        raise ServiceError(
            "invitation_invalid",
            gettext("Tautan undangan ini sudah dipakai, dicabut, atau kedaluwarsa."),
            status=410,
        )
    return invitation


def invitation_accept(
    *, secret: str, password: str, full_name: str = "", ip: str | None = None
) -> User:
    """Create the invitee's account with their chosen password; the link then stops working."""
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        invitation = invitation_for_secret(secret)
        # Claim the invitation first: of two concurrent accepts exactly one updates the row.
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at=None, revoked_at=None
        ).update(accepted_at=timezone.now())
        if not claimed:
            raise ServiceError(
                "invitation_invalid",
                gettext("Tautan undangan ini sudah dipakai, dicabut, atau kedaluwarsa."),
                status=410,
            )
        if User.objects.filter(email__iexact=invitation.email).exists() or (
            invitation.nip and User.objects.filter(nip=invitation.nip).exists()
        ):
            raise ServiceError(
                "invitation_invalid",
                gettext("Akun untuk undangan ini sudah ada. Silakan masuk."),
                status=410,
            )
        if email_address_taken(email=invitation.email):
            raise ServiceError(
                "invitation_invalid",
                gettext("E-mail undangan ini sudah dipakai akun lain. Hubungi admin unit Anda."),
                status=410,
            )
        user = User(
            email=invitation.email,
            nip=invitation.nip or None,
            full_name=(full_name or "").strip() or invitation.full_name,
            position=invitation.position,
            home_unit=invitation.unit,
        )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ServiceError(
                "invalid_password", gettext("Kata sandi tidak memenuhi syarat."),
                fields={"password1": exc.messages},
            ) from exc
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        # The invitation went to this address and its link was used: the address is verified,
        # and anyone else's unverified claim on it is void.
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        email_claims_release(emails=[user.email], owner_ids=[user.pk])
        Membership.objects.create(user=user, unit=invitation.unit, role=invitation.role)
        Invitation.objects.filter(pk=invitation.pk).update(accepted_user=user)
        audit(actor=user, action="invitation.accept", target=invitation, ip=ip,
              data={"unit": invitation.unit.code, "role": invitation.role})
    return user


def invitation_revoke(*, actor: User, invitation_id: int, ip: str | None = None) -> None:
    invitation = Invitation.objects.select_related("unit").filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound()
    access_unit_admin(actor, invitation.unit.code)
    with transaction.atomic():
        Invitation.objects.filter(pk=invitation.pk, revoked_at=None, accepted_at=None).update(
            revoked_at=timezone.now()
        )
        audit(actor=actor, action="invitation.revoke", target=invitation, ip=ip)


# --- Administering people -------------------------------------------------------------------


def user_deactivate(*, actor: User, user_id: int, ip: str | None = None) -> User:
    """Deactivate a person: sessions end, tokens stop working, open WebSockets close."""
    from allauth.usersessions.models import UserSession

    target = access_managed_user(actor, user_id)
    if target.pk == actor.pk:
        raise ServiceError("invalid", gettext("Anda tidak dapat menonaktifkan akun sendiri."))
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(is_active=False)
        for session in UserSession.objects.filter(user=target):
            session.end()
        # Revoked, not merely refused while inactive: a reactivation must not bring back
        # tokens that were out of the person's control meanwhile (issue 14, item 15).
        revoked = ApiToken.objects.filter(user=target, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        audit(actor=actor, action="user.deactivate", target=target, ip=ip,
              data={"tokens_revoked": revoked})
        # session None: every socket of the person, those of sessions and of tokens alike.
        session_ended(user=target, session_key=None)
    target.is_active = False
    return target


def user_reactivate(*, actor: User, user_id: int, ip: str | None = None) -> User:
    """Let a deactivated person sign in again. Their old API tokens stay revoked (deactivation
    revoked them): they create new ones."""
    target = access_managed_user(actor, user_id)
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(is_active=True)
        audit(actor=actor, action="user.reactivate", target=target, ip=ip)
    target.is_active = True
    return target


def membership_set_roles(
    *, actor: User, user_id: int, unit_code: str, roles: list[str], ip: str | None = None
) -> list[str]:
    """Set exactly `roles` for a person on a unit the actor administers; returns the roles."""
    unit = access_unit_admin(actor, unit_code)
    target = access_user(actor, user_id)
    wanted = set(roles)
    unknown = wanted - set(Role.values)
    if unknown:
        raise ServiceError(
            "invalid", gettext("Peran tidak dikenal."), fields={"roles": sorted(unknown)}
        )
    current = set(
        Membership.objects.filter(user=target, unit=unit).values_list("role", flat=True)
    )
    if target.pk == actor.pk and Role.UNIT_ADMIN in current and Role.UNIT_ADMIN not in wanted:
        # An admin removing their own admin role could leave a unit with no admin at all.
        raise ServiceError(
            "invalid", gettext("Anda tidak dapat mencabut peran admin unit milik sendiri.")
        )
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if not added and not removed:
        return sorted(wanted)
    with transaction.atomic():
        Membership.objects.filter(user=target, unit=unit, role__in=removed).delete()
        Membership.objects.bulk_create(
            [Membership(user=target, unit=unit, role=role) for role in added]
        )
        audit(
            actor=actor, action="membership.set_roles", target=target, ip=ip,
            data={"unit": unit.code, "added": added, "removed": removed},
        )
        # Roles steer what the person's open sockets may see (announcements addressed to a
        # role, channels posted by roles): their gateway connections reload them now.
        emit_subscription_changed(target.pk)
    return sorted(wanted)


def emit_subscription_changed(user_id: int) -> None:
    """Tell the gateway to reload a user's memberships and groups (last in a transaction)."""
    emit(type=SUBSCRIPTION_CHANGED, data={}, groups=[f"user.{user_id}"],
         audience={"users": [user_id]})


# --- API tokens -----------------------------------------------------------------------------


def api_token_create(
    *,
    actor: User,
    name: str,
    scopes: list[str],
    expires_days: int | None = None,
    reauthenticated: bool = False,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """A person creates their own token. `publish` needs MFA and a fresh re-authentication
    (the view enforces allauth's re-authentication flow and says so with `reauthenticated`)."""
    if TokenScope.PUBLISH in scopes:
        require_mfa(actor)
        if not reauthenticated:
            raise ServiceError(
                "reauthentication_required",
                gettext("Masukkan kembali kata sandi Anda untuk membuat token 'publish'."),
                status=403,
            )
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise ServiceError(
            "invalid", gettext("Masa berlaku 1 sampai 3650 hari."),
            fields={"expires_days": [gettext("1 sampai 3650 hari.")]},
        )
    with transaction.atomic():
        token, secret = token_create(
            user=actor, name=name, scopes=scopes, expires_days=expires_days
        )
        audit(actor=actor, action="token.create", target=token, ip=ip,
              data={"name": token.name, "scopes": token.scopes})
    return token, secret


def api_token_revoke(*, actor: User, token_id: int, ip: str | None = None) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        audit(actor=actor, action="token.revoke", target=token, ip=ip, data={"name": token.name})
        if revoked:
            token_ended(user_id=actor.pk, token_id=token.pk)
    token.refresh_from_db()
    return token


def api_token_expired(*, token_id: int) -> bool:
    """A token reached its expiry (the task scheduled at its creation): close its sockets.

    Returns whether the event was recorded; a revoked token had its sockets closed then.
    """
    token = ApiToken.objects.filter(pk=token_id, revoked_at=None).first()
    if token is None or token.expires_at is None or token.expires_at > timezone.now():
        return False
    token_ended(user_id=token.user_id, token_id=token.pk)
    return True
