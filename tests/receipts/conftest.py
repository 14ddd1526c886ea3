"""Fixtures of the receipt tests: an announcement that asks for acknowledgement, published to
Kota Semarang (33.74 and below) by Diskominfo Kota Semarang, and helpers to run what the task
worker would run."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django.utils.module_loading import import_string

from announcements import services
from announcements.models import Announcement
from tests.announcements.conftest import enable_mfa, publish


@pytest.fixture(autouse=True)
def fresh_cache():
    """Summaries are shared through the cache for a second, keyed by announcement id: without
    services (SQLite, the in-process cache) a rolled-back test's ids come again in the next."""
    cache.clear()


@pytest.fixture
def p(personas):
    enable_mfa(personas.smg_signer)
    enable_mfa(personas.gov_signer)
    return personas


def publish_ack(p, *, deadline=None, **overrides) -> Announcement:
    """Published by Diskominfo Kota Semarang to 33.74 (with sub-units), acknowledgement
    required by `deadline` (three days from now by default)."""
    values = {"requires_ack": True,
              "ack_deadline": deadline or timezone.now() + timedelta(days=3)}
    values.update(overrides)
    return publish(p.smg_author, p.smg_signer, **values)


@pytest.fixture
def ann(p) -> Announcement:
    return publish_ack(p)


def correct(p, announcement: Announcement, *, requires_reack: bool,
            body: str = "Listrik padam pukul 10.00-13.00 WIB.") -> Announcement:
    services.announcement_correct(
        actor=p.smg_author, announcement_id=announcement.pk, title="Pemadaman (ralat)",
        body=body, reason="Jam berubah.", requires_reack=requires_reack,
    )
    services.announcement_submit(actor=p.smg_author, announcement_id=announcement.pk)
    services.announcement_publish(actor=p.smg_signer, announcement_id=announcement.pk)
    return Announcement.objects.get(pk=announcement.pk)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def enqueued(task_name: str) -> list:
    """The task rows the database backend holds for the receipts task `task_name`."""
    from django_tasks_db.models import DBTaskResult

    from announcements.receipts import reminders
    from announcements.receipts import services as receipts

    task = getattr(reminders, task_name, None) or getattr(receipts, task_name)
    return list(DBTaskResult.objects.filter(task_path=task.module_path).order_by("run_after"))


def run_task(row):
    """Run an enqueued task the way the worker does: its function with its stored arguments."""
    task = import_string(row.task_path)
    return task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
