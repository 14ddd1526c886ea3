"""Every "may this user …" question about people and units, answered in one place.

Roles are held on a unit. Author, signer and head act for exactly that unit; unit admin and
auditor also cover the unit's subtree.
"""

from __future__ import annotations

from accounts.models import Membership, Role, Unit, User, ancestor_codes
from comms.errors import ServiceError

SUBTREE_ROLES = frozenset({Role.UNIT_ADMIN, Role.AUDITOR})


def has_role(user: User, unit: Unit, *roles: str) -> bool:
    """The user holds one of `roles` on exactly this unit."""
    if not user.is_authenticated or not user.is_active:
        return False
    return Membership.objects.filter(user=user, unit=unit, role__in=roles).exists()


def has_role_over(user: User, unit: Unit, *roles: str) -> bool:
    """The user holds one of `roles` on this unit or on one of its ancestors."""
    if not user.is_authenticated or not user.is_active:
        return False
    return Membership.objects.filter(
        user=user, unit__code__in=ancestor_codes(unit.code), role__in=roles
    ).exists()


def is_unit_admin_of(user: User, unit: Unit) -> bool:
    return has_role_over(user, unit, Role.UNIT_ADMIN)


def is_auditor_of(user: User, unit: Unit) -> bool:
    return has_role_over(user, unit, Role.AUDITOR)


def user_has_mfa(user: User) -> bool:
    """The user has enrolled a second factor (TOTP or a WebAuthn key / passkey).

    Signers and unit admins must have one before they may act in those roles (MFA_ROLES).
    """
    from allauth.mfa.models import Authenticator

    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def require_mfa(user: User) -> None:
    """Refuse (403 `mfa_required`) a user without a second factor acting in an MFA role."""
    if not user_has_mfa(user):
        raise ServiceError(
            "mfa_required",
            "Aktifkan autentikasi dua faktor (TOTP atau passkey) sebelum bertindak "
            "dalam peran ini.",
            status=403,
        )
