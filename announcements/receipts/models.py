"""Receipts (one per recipient and announcement) and the reminders and escalations sent
about them. Models of the announcements app (imported by announcements.models)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit


class Receipt(models.Model):
    """One recipient of one announcement, fixed at publication. Narrow on purpose: one row per
    recipient (300,000 for a province-wide announcement)."""

    # No single-column indexes on these two: the unique (announcement, user) and the inbox
    # (user, read_at) indexes lead with them. Every index costs on each of 300,000 inserts of a
    # province-wide publication (two fewer: 3.9 s → 2.8 s for 300,000 rows, measured).
    # No database constraint on any of the three keys: receipts are only ever written by one
    # INSERT … SELECT joining those very tables, in the transaction that holds the
    # announcement's row lock. Published announcements are never deleted (they are withdrawn;
    # the transparency log refers to them) and the ORM still cascades a draft's deletion. Each
    # deferred check is one look-up per receipt at COMMIT: user and unit cost 600,000 of them
    # (docs/performance.md, finding 10); the announcement's 300,000 cost 1.8-2.1 s more
    # (docs/performance.md, "Publication: the receipts write").
    announcement = models.ForeignKey(
        "announcements.Announcement",
        on_delete=models.CASCADE,
        related_name="receipts",
        db_index=False,
        db_constraint=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="receipts",
        db_index=False, db_constraint=False,
    )
    #: The unit through which the user was addressed at publication (for per-unit statistics).
    #: No index of its own: every read of receipts by unit is within one announcement, and the
    #: unique and pending indexes lead with it. The single-column index cost ~0.4 s of a
    #: province-wide publication (one index of five, measured; docs/performance.md). Deleting
    #: a unit (PROTECTed) then scans the receipts: a rare administrative act.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+",
                             db_constraint=False, db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("tanda terima")
        verbose_name_plural = _("tanda terima")
        constraints = [
            models.UniqueConstraint(fields=["announcement", "user"], name="receipt_unique"),
        ]
        indexes = [
            # Who has not acknowledged yet, unit by unit: the pending list is read a page at a
            # time in (unit, id) order from this index (keyset pagination,
            # receipt_selectors.pending_page), never sorted whole. Partial, so it shrinks as
            # acknowledgements arrive; it replaced a full (announcement, unit, acknowledged_at)
            # index, so publication still maintains the same number of indexes.
            models.Index(
                fields=["announcement", "unit", "id"], name="receipt_unacked_idx",
                condition=models.Q(acknowledged_at=None),
            ),
            # The inbox: my receipts, unread first.
            models.Index(fields=["user", "read_at"], name="receipt_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} → {self.user_id}"


class ReceiptNotice(models.Model):
    """A reminder sent to a pending recipient, or an escalation of a pending recipient to a head
    of their unit (issue 6, announcements/receipts/reminders.py). The issuer's dashboard lists them;
    the unique constraints make a task that runs twice send nothing twice."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Pengingat")
        ESCALATION = "escalation", _("Eskalasi")

    announcement = models.ForeignKey(
        "announcements.Announcement", on_delete=models.CASCADE, related_name="receipt_notices"
    )
    #: The recipient who had not acknowledged.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: Reminders: hours before the deadline (one round per configured offset); escalation: 0.
    round = models.PositiveIntegerField(default=0)
    #: Escalations: the head who was told.
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("pengingat konfirmasi")
        verbose_name_plural = _("pengingat konfirmasi")
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "user", "round"],
                condition=models.Q(kind="reminder"), name="receipt_notice_reminder_once",
            ),
            models.UniqueConstraint(
                fields=["announcement", "user", "head"],
                condition=models.Q(kind="escalation"), name="receipt_notice_escalation_once",
            ),
        ]
        indexes = [models.Index(fields=["announcement", "user"], name="receipt_notice_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.announcement_id} → {self.user_id}"
