"""The old import path of django-tasks tasks that moved (issue 15).

The database task backend stores each queued task's dotted path
(`DBTaskResult.task_path`) and imports it when a worker runs the row: rows queued
before the move still name `announcements.tasks`. Remove this module once no unfinished row
does:

    DBTaskResult.objects.filter(task_path__startswith="announcements.tasks.",
                                status__in=["READY", "RUNNING"]).exists()
"""

from announcements.services import publish_scheduled  # noqa: F401
