"""notifications_create: the one write path of Notification rows (reminders, escalations,
mentions)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from notifications.services import TEXT_MAX_CHARS, notifications_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_it_writes_one_row_per_person_in_one_insert(org):
    people = [make_user(org.semarang_diskominfo) for _ in range(4)]
    with CaptureQueriesContext(connection) as queries:
        created = notifications_create(
            kind=Notification.Kind.ACK_REMINDER, url="/pengumuman/1/",
            texts=[(u.pk, f"untuk {u.full_name}") for u in people])
    assert len(queries) == 1
    assert [n.user_id for n in created] == [u.pk for u in people]
    assert all(n.pk for n in created)
    rows = Notification.objects.order_by("id")
    assert [(n.user_id, n.kind, n.url, n.text, n.read_at) for n in rows] == [
        (u.pk, "ack_reminder", "/pengumuman/1/", f"untuk {u.full_name}", None) for u in people]


def test_a_long_text_is_cut_to_the_column(org):
    user = make_user(org.semarang_diskominfo)
    [created] = notifications_create(kind=Notification.Kind.MENTION, url="",
                                     texts=[(user.pk, "x" * 400)])
    created.refresh_from_db()
    assert created.text == "x" * TEXT_MAX_CHARS


def test_nobody_to_tell_writes_nothing(org):
    with CaptureQueriesContext(connection) as queries:
        assert notifications_create(kind=Notification.Kind.MENTION, url="", texts=[]) == []
    assert len(queries) == 0
