"""Who may see an event: the viewer a connection holds in memory, the audience format of
events, and the control events that steer the gateway."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def session_hash(session_key: str | None) -> str | None:
    """The id of a session as the WebSocket gateway knows it: never the key itself."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32] if session_key else None


#: Event types that steer the gateway and are not forwarded to clients.
SUBSCRIPTION_CHANGED = "subscription.changed"
SESSION_ENDED = "session.ended"
CONTROL_TYPES = frozenset({SUBSCRIPTION_CHANGED, SESSION_ENDED})


@dataclass(frozen=True)
class Viewer:
    """What a connection knows about its user, held in memory for event filtering."""

    user_id: int
    #: (unit code, role) pairs; the home unit appears with role "member".
    memberships: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def audience_allows(audience: dict[str, Any] | None, viewer: Viewer) -> bool:
    if audience is None:
        return True
    users = audience.get("users")
    if users is not None and viewer.user_id in users:
        return True
    units = audience.get("units")
    if not units:
        return False
    subunits = bool(audience.get("subunits"))
    roles = audience.get("roles") or ()
    for code, role in viewer.memberships:
        if roles and role not in roles:
            continue
        for target in units:
            if code == target or (subunits and code.startswith(target + ".")):
                return True
    return False
