"""What accounts tells the WebSocket gateway (realtime.gateway): who a connection is.

- the viewer: the user's memberships (unit code, role), read once per connect, by which the
  gateway filters every event's audience in memory;
- the unit groups: `unit.<code>` of every unit in the ancestry of the user's memberships (from
  the viewer's memberships, no second query).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from accounts.selectors import unit_groups_of, viewer_for
from realtime.audience import Viewer
from realtime.gateway import register_groups, register_viewer


def unit_groups(user: Any, viewer: Viewer) -> Iterable[str]:
    return unit_groups_of(viewer)


register_viewer(viewer_for)
register_groups(unit_groups)
