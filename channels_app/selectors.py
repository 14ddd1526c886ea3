"""Read paths of channels, threads and messages."""

from __future__ import annotations

from accounts.models import User


def channel_groups_for(user: User) -> list[str]:
    """Channel-layer groups (`channel.<id>`, `thread.<id>`) a user's connection subscribes to.

    The channels issue fills this in with the channels and threads the user may read.
    """
    return []
