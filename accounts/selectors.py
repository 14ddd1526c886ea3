"""Read paths for people and organisation."""

from __future__ import annotations

from django.db.models import Q

from accounts.models import Membership, Unit, User, ancestor_codes
from realtime.audience import Viewer


def memberships_of(user: User) -> list[tuple[str, str]]:
    """(unit code, role) pairs of a user; the home unit counts as a "member" membership."""
    pairs = list(
        Membership.objects.filter(user=user).values_list("unit__code", "role").order_by()
    )
    if user.home_unit_id is not None:
        home = user.home_unit.code
        if (home, "member") not in pairs:
            pairs.append((home, "member"))
    return pairs


def viewer_for(user: User) -> Viewer:
    return Viewer(user_id=user.pk, memberships=tuple(sorted(set(memberships_of(user)))))


def unit_groups_for(user: User) -> list[str]:
    """Channel-layer groups of every unit in the user's ancestry (for announcements)."""
    return unit_groups_of(viewer_for(user))


def unit_groups_of(viewer: Viewer) -> list[str]:
    """The same, from memberships already loaded (the gateway reads them once per connect)."""
    codes: set[str] = set()
    for code, _role in viewer.memberships:
        codes.update(ancestor_codes(code))
    return sorted(f"unit.{code}" for code in codes)


def directory_users(
    *, scope: list[str] | None, unit_code: str | None = None, q: str = "", limit: int = 50
) -> list[User]:
    """People of the jurisdictions `scope` (None: everyone), optionally within a unit's
    subtree and matching `q` against name, NIP or position. Callers pass the viewer's
    accounts.permissions.directory_scope(): the rule of who sees whom stays in permissions."""
    users = User.objects.filter(is_active=True).select_related("home_unit")
    if scope is not None:
        if not scope:
            return []
        allowed = Q()
        for code in scope:
            allowed |= Q(home_unit__code=code) | Q(home_unit__code__startswith=f"{code}.")
        users = users.filter(allowed)
    if unit_code:
        users = users.filter(
            Q(home_unit__code=unit_code) | Q(home_unit__code__startswith=f"{unit_code}.")
        )
    q = (q or "").strip()
    if q:
        digits = q.replace(" ", "")
        match = Q(full_name__icontains=q) | Q(position__icontains=q)
        if digits.isascii() and digits.isdigit():  # a NIP prefix: ASCII digits, not "²"
            match |= Q(nip__startswith=digits)
        users = users.filter(match)
    return list(users.order_by("full_name", "id")[:limit])


def child_units(code: str | None) -> list:
    if code is None:
        return list(Unit.objects.filter(parent__isnull=True))
    return list(Unit.objects.filter(parent__code=code).order_by("code"))


def unit_roles_of(user: User) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).select_related("unit").order_by("unit__code", "role")
    )
