"""The old import path of django-tasks tasks that moved (issue 15).

The database task backend stores each queued task's dotted path
(`DBTaskResult.task_path`) and imports it when a worker runs the row: rows queued
before the move still name `announcements.reminders`. Remove this module once no unfinished row
does:

    DBTaskResult.objects.filter(task_path__startswith="announcements.reminders.",
                                status__in=["READY", "RUNNING"]).exists()
"""

from announcements.receipts.reminders import (
    escalate,  # noqa: F401
    send_reminders,  # noqa: F401
)
from announcements.receipts.services import (
    publish_summaries_later,  # noqa: F401
    publish_summary_later,  # noqa: F401
)
