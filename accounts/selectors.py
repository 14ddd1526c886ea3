"""Read paths for people and organisation."""

from __future__ import annotations

from accounts.models import Membership, User, ancestor_codes
from comms.realtime import Viewer


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
    codes: set[str] = set()
    for code, _role in memberships_of(user):
        codes.update(ancestor_codes(code))
    return sorted(f"unit.{code}" for code in codes)
