"""Every signed event lands in the log, in the same transaction, with a signed checkpoint."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from announcements import services
from announcements.signing.models import ImmutableError
from announcements.transparency import checkpoints, merkle
from announcements.transparency import selectors as log_selectors
from announcements.transparency.models import Checkpoint, LogEntry, LogKey

from .conftest import publish


@pytest.mark.django_db
def test_publication_correction_and_withdrawal_are_logged_in_order(history):
    entries = list(LogEntry.objects.order_by("index"))
    assert [e.index for e in entries] == list(range(6))
    assert [e.kind for e in entries] == [
        "publication", "publication", "correction", "publication", "withdrawal", "publication"]
    banjir = history["banjir"]
    correction = entries[2]
    leaf = json.loads(bytes(correction.leaf))
    version = banjir.current_version
    assert leaf == {
        "kind": "correction", "announcement_id": banjir.pk, "version": 2,
        "content_hash": version.content_hash, "key_id": version.key_id,
        "signature": version.signature,
        "published_at": version.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert bytes(correction.leaf_hash) == merkle.leaf_hash(bytes(correction.leaf))
    assert correction.payload == version.payload
    withdrawal = history["libur"].withdrawal
    withdrawn = json.loads(bytes(entries[4].leaf))
    assert withdrawn["content_hash"] == withdrawal.content_hash
    assert withdrawn["version"] == 1 and withdrawn["kind"] == "withdrawal"
    assert entries[4].version == history["libur"].current_version
    assert log_selectors.log_index_for(version) == 2
    assert log_selectors.log_index_for(history["vaksin"].current_version) == 0


@pytest.mark.django_db
def test_each_append_signs_a_checkpoint_of_the_whole_tree(history):
    key = LogKey.objects.get()
    notes = list(Checkpoint.objects.order_by("id"))
    assert [c.tree_size for c in notes] == [1, 2, 3, 4, 5, 6]
    hashes = log_selectors.leaf_hashes()
    for checkpoint in notes:
        body, signatures = checkpoints.split_note(checkpoint.note)
        parsed = checkpoints.parse_checkpoint(body)
        assert parsed.origin == key.name == "127.0.0.1/log"
        assert parsed.root == merkle.root_hash(hashes[: parsed.size]) == bytes(checkpoint.root_hash)
        assert checkpoints.signed_by(body, signatures, key.name, bytes(key.public_key))


@pytest.mark.django_db
def test_a_failed_publication_leaves_no_log_entry(signers, monkeypatch):
    """The entry is part of the publishing transaction: if anything after it fails, it goes."""
    p = signers

    def explode(*args, **kwargs):
        raise RuntimeError("emit failed")

    monkeypatch.setattr(services, "_emit", explode)
    with pytest.raises(RuntimeError):
        publish(p.smg_author, p.smg_signer, title="Judul", body="Isi")
    assert LogEntry.objects.count() == 0
    assert Checkpoint.objects.count() == 0


@pytest.mark.django_db
def test_log_rows_refuse_update_and_delete_in_the_model(history):
    entry = LogEntry.objects.get(index=1)
    entry.kind = "withdrawal"
    with pytest.raises(ImmutableError):
        entry.save()
    with pytest.raises(ImmutableError):
        entry.delete()
    with pytest.raises(ImmutableError):
        LogEntry.objects.filter(index=1).update(kind="withdrawal")
    with pytest.raises(ImmutableError):
        LogEntry.objects.all().delete()
    with pytest.raises(ImmutableError):
        Checkpoint.objects.first().delete()
    assert LogEntry.objects.get(index=1).kind == "publication"


@pytest.mark.django_db
@pytest.mark.services
@pytest.mark.parametrize("sql", [
    "UPDATE announcements_logentry SET kind = 'withdrawal' WHERE index = 1",
    "DELETE FROM announcements_logentry WHERE index = 4",
    "UPDATE announcements_checkpoint SET tree_size = 99",
    "DELETE FROM announcements_checkpoint",
])
def test_postgresql_refuses_changes_to_log_rows(require_postgres, history, sql):
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert LogEntry.objects.count() == 6


def _log_reads(queries) -> list[str]:
    """The statements that read leaves (or leaf hashes) of the log."""
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith("SELECT") and "announcements_logentry" in q["sql"]
            and "leaf" in q["sql"].split(" FROM ")[0]]


@pytest.mark.django_db
def test_an_append_reads_no_leaf_and_costs_the_same_whatever_the_log_size(history, signers):
    from django.test.utils import CaptureQueriesContext

    p = signers
    counts = []
    for n in range(2):
        with CaptureQueriesContext(connection) as queries:
            publish(p.smg_author, p.smg_signer, title=f"Berikutnya {n}", body="Isi.")
        assert _log_reads(queries) == []
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
    # The roots came from the compact ranges, and they are those of the whole tree.
    hashes = log_selectors.leaf_hashes()
    for checkpoint in Checkpoint.objects.order_by("id"):
        assert bytes(checkpoint.root_hash) == merkle.root_hash(hashes[: checkpoint.tree_size])
        assert merkle.unpack_range(bytes(checkpoint.compact_range)) == merkle.compact_range(
            hashes[: checkpoint.tree_size])
    assert Checkpoint.objects.order_by("-id").first().tree_size == 8


def _copy_of_latest_checkpoint(compact_range: bytes) -> Checkpoint:
    latest = Checkpoint.objects.order_by("-id").first()
    return Checkpoint.objects.create(
        tree_size=latest.tree_size, root_hash=latest.root_hash, created_at=latest.created_at,
        log_key=latest.log_key, note=latest.note, compact_range=compact_range,
    )


@pytest.mark.django_db
def test_a_checkpoint_signed_before_compact_ranges_is_extended_from_the_rows(history, signers):
    from django.test.utils import CaptureQueriesContext

    _copy_of_latest_checkpoint(b"")  # as every checkpoint signed before migration 0009
    p = signers
    with CaptureQueriesContext(connection) as queries:
        publish(p.smg_author, p.smg_signer, title="Sesudah pembaruan", body="Isi.")
    assert len(_log_reads(queries)) == 1  # once; the next append starts from the range
    latest = Checkpoint.objects.order_by("-id").first()
    hashes = log_selectors.leaf_hashes()
    assert latest.tree_size == 7 and bytes(latest.root_hash) == merkle.root_hash(hashes)
    assert merkle.unpack_range(bytes(latest.compact_range)) == merkle.compact_range(hashes)
    with CaptureQueriesContext(connection) as queries:
        publish(p.smg_author, p.smg_signer, title="Lagi", body="Isi.")
    assert _log_reads(queries) == []


@pytest.mark.django_db
def test_a_kept_range_that_does_not_give_the_signed_root_raises_the_alarm(history, signers,
                                                                         caplog):
    _copy_of_latest_checkpoint(b"\xab" * 64)  # size 6 = 4 + 2: two hashes, but not these
    p = signers
    with caplog.at_level("CRITICAL", logger="announcements.transparency.services"):
        publish(p.smg_author, p.smg_signer, title="Sesudah perubahan", body="Isi.")
    assert "state differs from checkpoint" in caplog.text
    latest = Checkpoint.objects.order_by("-id").first()
    hashes = log_selectors.leaf_hashes()
    # The new checkpoint is the tree the rows hold, as before compact ranges.
    assert latest.tree_size == 7 and bytes(latest.root_hash) == merkle.root_hash(hashes)
