"""In-app notifications of a person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """An in-app notification of one user (a mention, for now)."""

    class Kind(models.TextChoices):
        MENTION = "mention", _("Disebut dalam pesan")
        #: Acknowledgement reminders and escalations (issue 6, announcements/receipts/reminders.py).
        ACK_REMINDER = "ack_reminder", _("Pengingat konfirmasi")
        ACK_ESCALATION = "ack_escalation", _("Eskalasi konfirmasi")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    message = models.ForeignKey(
        "channels_app.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had in channels_app (moved with
        # SeparateDatabaseAndState, no data copied).
        db_table = "channels_app_notification"
        ordering = ["-created_at", "-id"]
        verbose_name = _("notifikasi")
        verbose_name_plural = _("notifikasi")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"
