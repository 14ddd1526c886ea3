"""Background tasks of the real-time gateway, run by `manage.py db_worker` (django-tasks-db)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from channels_app import relay


@task()
def relay_events() -> int:
    """Re-push unpushed events; while some remain (Redis still down), run again shortly."""
    pushed = relay.relay_pending()
    if relay.unpushed_count():
        relay_events.using(run_after=timezone.now() + relay.RELAY_DELAY).enqueue()
    return pushed
