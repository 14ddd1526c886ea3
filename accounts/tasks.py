"""Background work of the accounts app (django-tasks, run by `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from accounts import services


@task()
def run_import_job(job_id: int) -> None:
    """Process a CSV uploaded on the import page, recording progress on the job row."""
    services.import_job_run(job_id=job_id)


@task()
def api_token_expired(token_id: int) -> None:
    """At a token's expiry: close the WebSockets it opened (scheduled by `token_create`)."""
    services.api_token_expired(token_id=token_id)
