"""The old import path of django-tasks tasks that moved (issue 15).

The database task backend stores each queued task's dotted path
(`DBTaskResult.task_path`) and imports it when a worker runs the row: rows queued
before the move still name `accounts.tasks`. Remove this module once no unfinished row
does:

    DBTaskResult.objects.filter(task_path__startswith="accounts.tasks.",
                                status__in=["READY", "RUNNING"]).exists()
"""

from accounts.importer import (
    api_token_expired,  # noqa: F401
    run_import_job,  # noqa: F401
)
