"""Group commit of acknowledgements: `receipts_acknowledge_many` judges each request of a batch
on its own in one transaction of a fixed number of queries; the `ack` WebSocket frame goes
through it (announcements.receipts.ack_batch), so the frames of many sockets share a transaction and
each socket still gets its own answer."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt
from announcements.receipts.services import AckRequest, AckResult, receipts_acknowledge_many
from common.errors import ServiceError
from realtime.models import Event
from tests.conftest import make_user
from tests.factories import UnitFactory
from tests.realtime.helpers import RtClient
from tests.receipts.conftest import correct, publish_ack


def people_in_a_new_unit(code: str, count: int) -> list:
    """`count` members of a new sub-unit of Diskominfo Kota Semarang (recipients of publish_ack)."""
    unit = UnitFactory.create_with_code(f"33.74.DISKOMINFO.{code}", f"Bidang {code}", "subunit")
    return [make_user(unit) for _ in range(count)]


def acked_users(announcement) -> set[int]:
    return set(Receipt.objects.filter(announcement=announcement)
               .exclude(acknowledged_at=None).values_list("user_id", flat=True))


def summary_events(announcement) -> list[Event]:
    return list(Event.objects.filter(type="receipt.summary",
                                     data__announcement=announcement.pk).order_by("id"))


# --- The service ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_request_of_a_batch_gets_its_own_answer(p):
    ann = publish_ack(p)
    receipts.receipt_acknowledge(user=p.smg_signer, announcement_id=ann.pk, version=1)
    ann = correct(p, ann, requires_reack=True)  # version 2; version 1 may not be acknowledged
    optional = publish_ack(p, requires_ack=False, ack_deadline=None)
    outcomes = receipts_acknowledge_many([
        AckRequest(user=p.smg_member, announcement_id=ann.pk, version=2),
        AckRequest(user=p.smg_member, announcement_id=ann.pk, version=2),  # the same, again
        AckRequest(user=p.solo_member, announcement_id=ann.pk, version=2),  # not a recipient
        AckRequest(user=p.smg_head, announcement_id=ann.pk, version=1),  # superseded
        AckRequest(user=p.smg_author, announcement_id=ann.pk, version=3),  # never published
        AckRequest(user=p.smg_admin, announcement_id=2**70, version=1),  # no such announcement
        AckRequest(user=p.smg_member, announcement_id=optional.pk, version=1),
        AckRequest(user=p.smg_signer, announcement_id=ann.pk, version=2),  # re-acknowledges
        AckRequest(user=p.smg_dinkes_member, announcement_id=ann.pk, version=2),
    ])
    refusals = [(o.code, o.status) if isinstance(o, ServiceError) else None for o in outcomes]
    assert refusals == [None, None, ("not_found", 404), ("version_superseded", 409),
                        ("unknown_version", 400), ("not_found", 404),
                        ("ack_not_required", 409), None, None]
    first, again, *_rest, signer, dinkes = outcomes
    assert isinstance(first, AckResult) and first.changed and not again.changed
    assert again.receipt.acknowledged_at == first.receipt.acknowledged_at
    assert signer.changed and signer.receipt.acknowledged_version == 2 and dinkes.changed
    # What was answered is what was written; the refused requests wrote nothing.
    assert acked_users(ann) == {p.smg_member.pk, p.smg_signer.pk, p.smg_dinkes_member.pk}
    member = Receipt.objects.get(announcement=ann, user=p.smg_member)
    assert (member.acknowledged_at, member.acknowledged_version) == (
        first.receipt.acknowledged_at, 2)
    assert member.delivered_at == member.read_at == member.acknowledged_at
    assert not acked_users(optional)


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_for_5_as_for_50(p):
    people = people_in_a_new_unit("Q", 55)
    small, large = publish_ack(p), publish_ack(p)

    def queries(announcement, users) -> int:
        with CaptureQueriesContext(connection) as captured:
            outcomes = receipts_acknowledge_many(
                [AckRequest(user=u, announcement_id=announcement.pk, version=1) for u in users])
        assert all(isinstance(o, AckResult) and o.changed for o in outcomes)
        return len(captured)

    few = queries(small, people[:5])
    assert queries(large, people[5:]) == few
    # The announcements, the receipts, the versions, one UPDATE (and the savepoint around them,
    # the test being a transaction).
    assert few <= 6
    assert len(acked_users(large)) == 50


@pytest.mark.django_db
def test_a_batch_publishes_one_summary_per_announcement(p, django_capture_on_commit_callbacks):
    cache.clear()
    people = people_in_a_new_unit("S", 10)
    ann = publish_ack(p)
    with django_capture_on_commit_callbacks(execute=True):
        receipts_acknowledge_many(
            [AckRequest(user=u, announcement_id=ann.pk, version=1) for u in people])
    [stats, bare] = summary_events(ann)
    assert stats.data["acknowledged"] == 10 and bare.data == {"announcement": ann.pk}
    cache.clear()


# --- Over the WebSocket, against a real server ------------------------------------------------

#: Long enough that every frame a test sends lands in one batch, however slow the machine.
WINDOW_MS = "1500"


def ack_frame(announcement_id: int, version: int) -> str:
    return json.dumps({"type": "ack", "announcement": announcement_id, "version": version})


def answer(client: RtClient) -> dict:
    return client.pump_until(lambda f: f.get("type") in {"acked", "error"})


@pytest.fixture
def batching_server(start_asgi_server):
    return start_asgi_server(ACK_BATCH_WINDOW_MS=WINDOW_MS)


@pytest.mark.django_db(transaction=True)
def test_concurrent_acks_are_all_committed_each_answered_and_pushed_once(
        p, ws_connect, batching_server):
    people = people_in_a_new_unit("W", 12)
    ann = publish_ack(p)
    issuer = RtClient(ws_connect(p.smg_author, server=batching_server))
    issuer.ws.send(json.dumps({"type": "subscribe", "stats": ann.pk}))
    issuer.pump_until(lambda f: f.get("type") == "subscribed")
    clients = [RtClient(ws_connect(user, server=batching_server)) for user in people]
    # The publication closed the one-second summary gate (shared through Redis when there is
    # one); the next second has come.
    cache.delete(receipts._gate_key(ann.pk))
    for client in clients:
        client.ws.send(ack_frame(ann.pk, 1))
    replies = [answer(client) for client in clients]
    assert all(r["type"] == "acked" and r["announcement"] == ann.pk and r["version"] == 1
               and r["changed"] is True for r in replies), replies
    assert acked_users(ann) == {user.pk for user in people}
    # One transaction: one acknowledgement time, and one summary push showing all of them.
    assert len({r["acknowledged_at"] for r in replies}) == 1
    summary = issuer.pump_until(lambda f: f.get("type") == "receipt.summary")
    assert summary["data"]["acknowledged"] == len(people)


@pytest.mark.django_db(transaction=True)
def test_a_mixed_batch_over_the_websocket_answers_each_socket(p, ws_connect, batching_server):
    ann = publish_ack(p)
    ann = correct(p, ann, requires_reack=True)
    sends = [
        (p.smg_member, ann.pk, 2),  # valid
        (p.smg_member, ann.pk, 2),  # the same person from a second tab
        (p.solo_member, ann.pk, 2),  # not a recipient
        (p.smg_head, ann.pk, 1),  # superseded by the correction
        (p.smg_dinkes_member, ann.pk, 2),  # valid
    ]
    clients = [RtClient(ws_connect(user, server=batching_server)) for user, _a, _v in sends]
    for client, (_user, announcement_id, version) in zip(clients, sends, strict=True):
        client.ws.send(ack_frame(announcement_id, version))
    member_a, member_b, outsider, head, dinkes = (answer(c) for c in clients)
    assert (member_a["type"], member_b["type"], dinkes["type"]) == ("acked",) * 3
    # One of the two tabs wrote it, the other found it written: the same acknowledgement.
    assert sorted([member_a["changed"], member_b["changed"]]) == [False, True]
    assert member_a["acknowledged_at"] == member_b["acknowledged_at"]
    assert dinkes["changed"] is True and dinkes["version"] == 2
    assert (outsider["type"], outsider["code"]) == ("error", "not_found")
    assert (head["type"], head["code"]) == ("error", "version_superseded")
    assert acked_users(ann) == {p.smg_member.pk, p.smg_dinkes_member.pk}
    for client in clients:  # every socket stays open
        client.ws.send(json.dumps({"type": "ping"}))
        assert client.pump_until(lambda f: f.get("type") == "pong")


def _refuse_receipt_updates(enable: bool) -> None:
    """A real database failure for every acknowledgement write: a trigger that raises."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if enable:
                cursor.execute("CREATE FUNCTION test_refuse_update() RETURNS trigger AS $$ "
                               "BEGIN RAISE EXCEPTION 'refused by test'; END $$ "
                               "LANGUAGE plpgsql")
                cursor.execute("CREATE TRIGGER test_refuse BEFORE UPDATE ON "
                               "announcements_receipt FOR EACH ROW "
                               "EXECUTE FUNCTION test_refuse_update()")
            else:
                cursor.execute("DROP TRIGGER IF EXISTS test_refuse ON announcements_receipt")
                cursor.execute("DROP FUNCTION IF EXISTS test_refuse_update()")
        elif enable:
            cursor.execute("CREATE TRIGGER test_refuse BEFORE UPDATE ON announcements_receipt "
                           "BEGIN SELECT RAISE(ABORT, 'refused by test'); END")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS test_refuse")


@pytest.mark.django_db(transaction=True)
def test_a_database_error_fails_the_whole_batch_with_error_frames(p, ws_connect,
                                                                 batching_server):
    ann = publish_ack(p)
    users = [p.smg_member, p.smg_dinkes_member, p.solo_member]
    clients = [RtClient(ws_connect(user, server=batching_server)) for user in users]
    _refuse_receipt_updates(True)
    try:
        for client in clients:
            client.ws.send(ack_frame(ann.pk, 1))
        replies = [answer(client) for client in clients]
    finally:
        _refuse_receipt_updates(False)
    # No silence: every socket is told, with the same error, and nothing was half written.
    assert [(r["type"], r["code"]) for r in replies] == [("error", "internal")] * 3
    assert not acked_users(ann)
    # The next batch, without the failure, goes through.
    clients[0].ws.send(ack_frame(ann.pk, 1))
    assert answer(clients[0])["changed"] is True


@pytest.mark.django_db(transaction=True)
def test_the_delivery_flush_skips_a_receipt_another_transaction_holds(p):
    # The gateway's delivered-on-push flush must not queue behind (nor hold up) acknowledgement
    # batches of the same fresh receipts: it skips what another writer holds — that writer
    # (an acknowledgement, a read) marks the receipt delivered itself.
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    ann = publish_ack(p)
    rows = list(Receipt.objects.filter(announcement=ann).order_by("user_id"))
    held = rows[0]
    event = Event.objects.filter(type="announcement.published", data__id=ann.pk).latest("id")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Receipt.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        # Were the flush to wait for the lock, it would return only after `release` below
        # timed out, having marked every receipt.
        marked = receipts.receipts_mark_pushed({event.id: {row.user_id for row in rows}})
    finally:
        release.set()
        holder.join()
    assert marked == len(rows) - 1
    delivered = dict(Receipt.objects.filter(announcement=ann).values_list("pk", "delivered_at"))
    assert delivered.pop(held.pk) is None
    assert all(value is not None for value in delivered.values())


def test_the_delivery_flush_is_cut_into_parts_of_one_update_each():
    from announcements.receipts import delivery

    batch = {7: set(range(1, 1201)), 9: {5, 3}}
    parts = delivery.parts(batch)
    assert [(list(part), len(next(iter(part.values())))) for part in parts] == [
        ([7], 500), ([7], 500), ([7], 200), ([9], 2)]
    # Every user of every event is in exactly one part.
    for event_id, users in batch.items():
        got = [u for part in parts for u in part.get(event_id, ())]
        assert sorted(got) == sorted(users)


@pytest.mark.django_db(transaction=True)
def test_the_paced_delivery_flush_marks_every_receipt(p, monkeypatch):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from announcements.receipts import delivery

    ann = publish_ack(p)
    event = Event.objects.filter(type="announcement.published", data__id=ann.pk).latest("id")
    users = set(Receipt.objects.filter(announcement=ann).values_list("user_id", flat=True))
    # More than one part, so that the pauses between parts are taken.
    monkeypatch.setattr(receipts, "PUSH_CHUNK", 2)
    # In a thread of its own, as on a server's event loop: this test thread may already run
    # one (Playwright's sync API, when browser tests ran before).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(delivery.flush({event.id: users}))).result(timeout=60)
    assert len(users) > 2
    assert not Receipt.objects.filter(announcement=ann, delivered_at=None).exists()
