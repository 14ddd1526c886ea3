"""The real-time event log (outbox): an `Event` row is written in the same transaction as
the change it describes; realtime.outbox pushes it after commit and the relay re-pushes
whatever was not pushed. Clients that missed events fetch them by id."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    #: Channel-layer groups the event is pushed to, e.g. ["unit.33.74", "unit.33.72"].
    groups = models.JSONField(default=list)
    #: Who inside those groups may see it; checked in memory by the consumer and on resume.
    #: None: everyone in the groups. See realtime.audience.audience_allows for the format.
    audience = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: Set when a pusher (after-commit push or relay) takes the event; a lease, so that two
    #: pushers never push the same event at once and a pusher killed mid-push is replaced.
    claimed_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had in channels_app (moved with
        # SeparateDatabaseAndState, no data copied).
        db_table = "channels_app_event"
        indexes = [
            models.Index(
                fields=["id"], name="event_unpushed_idx", condition=models.Q(pushed_at__isnull=True)
            ),
            # Resume looks back for events pushed late (see channels_app.gateway_resume).
            models.Index(fields=["pushed_at"], name="event_pushed_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.type}"
