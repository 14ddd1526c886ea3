"""What channels_app tells the WebSocket gateway (realtime.gateway): the groups of a
connection's channels (`channel.<id>`, its threads' events go there) and clarification threads
(`thread.<id>`), from the memberships the gateway already loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels_app.selectors import channel_groups_for
from realtime.audience import Viewer
from realtime.gateway import register_groups


def channel_groups(user: Any, viewer: Viewer) -> Iterable[str]:
    return channel_groups_for(user, memberships=viewer.memberships)


register_groups(channel_groups)
