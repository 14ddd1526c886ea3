"""Read paths of a person's in-app notifications (the notification centre of issue 16 reads
through these). Both filter on the user first, so they use the (user, read_at) index."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, Subquery

from accounts.models import User
from notifications.models import Notification

PAGE_SIZE = 20


@dataclass(frozen=True)
class NotificationPage:
    notifications: list[Notification]
    #: Pass as `before_id` for the next (older) page; None on the last page.
    next_before_id: int | None


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at=None).count()


def notifications_page(
    *, user: User, before_id: int | None = None, unread_only: bool = False,
    limit: int = PAGE_SIZE,
) -> NotificationPage:
    """A page of `user`'s notifications, newest first (Notification.Meta.ordering), older than
    the notification `before_id` — keyset paging, so a page costs one query however many rows
    there are. A `before_id` that is not the user's gives an empty page."""
    notifications = Notification.objects.filter(user=user)
    if unread_only:
        notifications = notifications.filter(read_at=None)
    if before_id is not None:
        anchor = Subquery(
            Notification.objects.filter(pk=before_id, user=user).values("created_at")[:1]
        )
        notifications = notifications.filter(
            Q(created_at__lt=anchor) | Q(created_at=anchor, pk__lt=before_id)
        )
    rows = list(notifications.order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return NotificationPage(notifications=rows, next_before_id=rows[-1].pk if more else None)
