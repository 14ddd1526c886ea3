"""A person's notifications: the unread count and pages newest first, only their own, at a
cost that does not grow with how many they have."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from notifications.selectors import notifications_page, notifications_unread_count
from notifications.services import notification_mark_read, notifications_create
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org):
    return make_user(org.semarang_diskominfo), make_user(org.solo_diskominfo)


def notify(user, n: int, *, start: int = 0) -> list[Notification]:
    created = notifications_create(kind=Notification.Kind.MENTION, url="/kanal/",
                                   texts=[(user.pk, f"ke-{start + i}") for i in range(n)])
    # Distinct times, oldest first: the i-th is i minutes after the first.
    base = timezone.now() - timedelta(days=1)
    for i, notification in enumerate(created):
        Notification.objects.filter(pk=notification.pk).update(
            created_at=base + timedelta(minutes=start + i))
    return created


def texts(page) -> list[str]:
    return [n.text for n in page.notifications]


def test_the_unread_count_counts_only_the_persons_unread_notifications(people):
    me, other = people
    mine = notify(me, 3)
    notify(other, 2)
    assert notifications_unread_count(user=me) == 3
    notification_mark_read(actor=me, notification_id=mine[0].pk)
    assert notifications_unread_count(user=me) == 2
    assert notifications_unread_count(user=other) == 2


def test_pages_run_newest_first_and_end(people):
    me, other = people
    notify(me, 5)
    notify(other, 3)
    first = notifications_page(user=me, limit=2)
    assert texts(first) == ["ke-4", "ke-3"]
    second = notifications_page(user=me, before_id=first.next_before_id, limit=2)
    assert texts(second) == ["ke-2", "ke-1"]
    last = notifications_page(user=me, before_id=second.next_before_id, limit=2)
    assert texts(last) == ["ke-0"] and last.next_before_id is None


def test_notifications_at_the_same_instant_are_paged_by_id(people):
    me, _other = people
    created = notifications_create(kind=Notification.Kind.MENTION, url="/kanal/",
                                   texts=[(me.pk, f"ke-{i}") for i in range(3)])
    Notification.objects.filter(user=me).update(created_at=timezone.now())
    first = notifications_page(user=me, limit=2)
    assert [n.pk for n in first.notifications] == [created[2].pk, created[1].pk]
    rest = notifications_page(user=me, before_id=first.next_before_id, limit=2)
    assert [n.pk for n in rest.notifications] == [created[0].pk]


def test_unread_only_leaves_out_the_read_ones(people):
    me, _other = people
    mine = notify(me, 3)
    notification_mark_read(actor=me, notification_id=mine[1].pk)
    assert texts(notifications_page(user=me, unread_only=True)) == ["ke-2", "ke-0"]


def test_another_persons_notification_is_no_cursor(people):
    me, other = people
    notify(me, 2)
    [theirs] = notify(other, 1)
    page = notifications_page(user=me, before_id=theirs.pk)
    assert page.notifications == [] and page.next_before_id is None


@pytest.mark.parametrize("unread_only", [False, True])
def test_a_page_and_the_count_cost_one_query_each_however_many_there_are(people, unread_only):
    me, _other = people
    costs = []
    for total in (3, 60):
        Notification.objects.filter(user=me).delete()
        notify(me, total)
        with CaptureQueriesContext(connection) as queries:
            first = notifications_page(user=me, limit=2, unread_only=unread_only)
            notifications_page(user=me, before_id=first.next_before_id, limit=2,
                               unread_only=unread_only)
            notifications_unread_count(user=me)
        costs.append(len(queries))
    assert costs == [3, 3]
