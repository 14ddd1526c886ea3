"""Deferred work of announcements, run by `manage.py db_worker` (django-tasks-db)."""

from __future__ import annotations

from django_tasks import task


@task()
def publish_scheduled(version_id: int) -> None:
    """Publish a version that a signer scheduled for later (see services._schedule)."""
    from announcements.services import announcement_publish_scheduled

    announcement_publish_scheduled(version_id=version_id)
