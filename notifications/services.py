"""Write paths of in-app notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from accounts.models import User
from common.errors import NotFound
from notifications.models import Notification

#: Notification.text's max_length: longer texts (a long title in them) are cut, not refused.
TEXT_MAX_CHARS = 300


def notifications_create(
    *, kind: str, url: str, texts: Iterable[tuple[int, str]], message_id: int | None = None
) -> list[Notification]:
    """One notification of `kind` per (user id, text) pair, all pointing at `url` (and at the
    message `message_id`, for a mention), in one INSERT. The caller decides who is told and
    runs this inside its own transaction; the rows come back with their ids, in order."""
    return Notification.objects.bulk_create([
        Notification(user_id=user_id, kind=kind, text=text[:TEXT_MAX_CHARS], url=url,
                     message_id=message_id)
        for user_id, text in texts
    ])


def notification_mark_read(*, actor: User, notification_id: int) -> None:
    updated = Notification.objects.filter(
        pk=notification_id, user=actor, read_at=None
    ).update(read_at=timezone.now())
    if not updated and not Notification.objects.filter(pk=notification_id, user=actor).exists():
        raise NotFound()
