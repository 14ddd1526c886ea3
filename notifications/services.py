"""Write paths of in-app notifications."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from common.errors import NotFound
from notifications.models import Notification


def notification_mark_read(*, actor: User, notification_id: int) -> None:
    updated = Notification.objects.filter(
        pk=notification_id, user=actor, read_at=None
    ).update(read_at=timezone.now())
    if not updated and not Notification.objects.filter(pk=notification_id, user=actor).exists():
        raise NotFound()
