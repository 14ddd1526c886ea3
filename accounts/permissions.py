"""Every "may this user …" question about people and units, answered in one place.

Roles are held on a unit. Author, signer and head act for exactly that unit; unit admin and
auditor also cover the unit's subtree.
"""

from __future__ import annotations

from accounts.models import Membership, Role, Unit, User, ancestor_codes, jurisdiction_code
from accounts.selectors import memberships_of
from common.errors import Forbidden, NotFound, ServiceError

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


# --- What each role may do on a unit ---------------------------------------------------------


def can_author(user: User, unit: Unit) -> bool:
    """Draft announcements for exactly this unit."""
    return has_role(user, unit, Role.AUTHOR)


def can_sign(user: User, unit: Unit) -> bool:
    """Approve and sign for exactly this unit (acting also needs MFA: `require_mfa`)."""
    return has_role(user, unit, Role.SIGNER)


def is_head_of(user: User, unit: Unit) -> bool:
    """Unit head: receives escalations of this unit."""
    return has_role(user, unit, Role.HEAD)


def can_administer(user: User, unit: Unit) -> bool:
    """Manage members (invite, deactivate, roles) and channels of this unit's subtree."""
    return is_unit_admin_of(user, unit)


def can_audit(user: User, unit: Unit) -> bool:
    """Read receipts of this unit's subtree."""
    return is_auditor_of(user, unit)


# --- The directory: who may see whom ---------------------------------------------------------


def directory_scope(user: User) -> list[str] | None:
    """Jurisdiction codes whose people `user` may see; None means everyone.

    Decision (docs/accounts.md): an ASN sees the people of their own jurisdiction (their regency
    or city, or — for provincial staff — the whole province). Provincial staff serve every
    regency, so they see everyone; regency staff see their own regency and nobody else's.
    Anonymous or inactive users see nobody ([]).
    """
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    scopes = {jurisdiction_code(code) for code, _role in memberships_of(user)}
    if "33" in scopes:
        return None
    return sorted(scopes)


def can_see_user(viewer: User, target: User) -> bool:
    if not viewer.is_authenticated or not viewer.is_active:
        return False
    if viewer.pk == target.pk:
        return True
    scope = directory_scope(viewer)
    if scope is None:
        return True
    if target.home_unit_id is None:
        return False
    code = target.home_unit.code
    return any(code == s or code.startswith(f"{s}.") for s in scope)


# --- access_*: fetch and authorise in one call (outsiders get 404) ----------------------------


def access_unit(user: User, code: str) -> Unit:
    """Any signed-in ASN may see the organisation's structure (it is the address book of
    announcements); nobody else may."""
    if not user.is_authenticated or not user.is_active:
        raise NotFound()
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise NotFound()
    return unit


def access_user(viewer: User, user_id: int) -> User:
    target = User.objects.select_related("home_unit").filter(pk=user_id).first()
    if target is None or not can_see_user(viewer, target):
        raise NotFound()
    return target


def access_unit_admin(user: User, code: str) -> Unit:
    """The unit, for someone who administers it: 404 if unknown, 403 if not its admin, 403
    `mfa_required` if the admin has no second factor yet."""
    unit = access_unit(user, code)
    if not can_administer(user, unit):
        raise Forbidden("Anda bukan admin unit ini.")
    require_mfa(user)
    return unit


def access_managed_user(actor: User, user_id: int) -> User:
    """A person whose home unit lies in a subtree `actor` administers (404 if `actor` may not
    even see them, 403 if seen but not administered, 403 `mfa_required` without MFA)."""
    target = access_user(actor, user_id)
    if target.home_unit is None or not can_administer(actor, target.home_unit):
        raise Forbidden("Pengguna ini berada di luar unit yang Anda kelola.")
    require_mfa(actor)
    return target


def administered_codes(user: User) -> list[str]:
    """Codes of the units on which `user` holds unit admin (each covers its subtree)."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(
        Membership.objects.filter(user=user, role=Role.UNIT_ADMIN).values_list(
            "unit__code", flat=True
        )
    )
