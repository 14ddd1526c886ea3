"""The live summary is throttled: many acknowledgements in one second make one event at once
and one deferred event with the final numbers — not one event per acknowledgement."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from announcements.receipts import services as receipts
from realtime.models import Event
from tests.receipts.conftest import enqueued, run_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def summary_events(announcement_id: int) -> list[Event]:
    return list(Event.objects.filter(type="receipt.summary",
                                     data__announcement=announcement_id).order_by("id"))


def test_a_burst_of_acknowledgements_makes_one_event_now_and_one_after_the_gate(
        ann, p, django_capture_on_commit_callbacks):
    recipients = [p.smg_member, p.smg_author, p.smg_signer, p.smg_admin, p.smg_head,
                  p.smg_dinkes_member]
    with django_capture_on_commit_callbacks(execute=True):
        receipts.receipt_acknowledge(user=recipients[0], announcement_id=ann.pk, version=1)
    first = summary_events(ann.pk)
    # One with the totals for the issuer's staff, one bare for auditors of parts of it.
    assert [e.groups for e in first] == [[f"announcement.{ann.pk}.stats"],
                                         [f"announcement.{ann.pk}.stats.scoped"]]
    assert first[0].data == {"announcement": ann.pk, "total": 7, "delivered": 1, "read": 1,
                             "acknowledged": 1}
    assert first[1].data == {"announcement": ann.pk}

    for user in recipients[1:]:
        with django_capture_on_commit_callbacks(execute=True):
            receipts.receipt_acknowledge(user=user, announcement_id=ann.pk, version=1)
    assert len(summary_events(ann.pk)) == 2  # nothing more within the second
    [later] = enqueued("publish_summary_later")
    assert later.args_kwargs["kwargs"] == {"announcement_id": ann.pk}
    assert later.run_after > first[0].created_at

    # The second has passed (the gate's cache entry expired): the deferred run publishes the
    # numbers as they are then.
    cache.delete(receipts._gate_key(ann.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_task(later) is True
    events = summary_events(ann.pk)
    assert len(events) == 4
    assert events[2].data["acknowledged"] == 6 and events[2].data["total"] == 7


def test_a_deferred_run_while_the_gate_is_closed_tries_again_later(ann, p):
    receipts.publish_summary(ann.pk)
    cache.add(receipts._gate_key(ann.pk), 1, timeout=60)
    before = len(summary_events(ann.pk))
    assert receipts.publish_summary_deferred(ann.pk) is False
    assert len(summary_events(ann.pk)) == before
    assert len(enqueued("publish_summary_later")) == 1


def test_reading_and_delivery_also_update_the_summary(ann, p, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        receipts.receipt_mark_read(user=p.smg_member, announcement_id=ann.pk)
    [stats, _bare] = summary_events(ann.pk)
    assert (stats.data["read"], stats.data["delivered"]) == (1, 1)
