"""Reads of the transparency log: checkpoints, entries, proofs, witness status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max

from announcements.models import AnnouncementVersion
from announcements.transparency import checkpoints, merkle
from announcements.transparency.models import (
    Checkpoint,
    LogEntry,
    LogKey,
    LogKind,
    Witness,
    WitnessCosignature,
)
from common.errors import NotFound, ServiceError

#: At most this many entries per `entries` request (clients page with start/end).
MAX_ENTRIES_PER_PAGE = 1000


def leaf_hashes() -> list[bytes]:
    """Every leaf hash, in index order — the tree as the database holds it now."""
    return [bytes(h) for h in LogEntry.objects.order_by("index").values_list("leaf_hash",
                                                                               flat=True)]


def tree_size() -> int:
    return LogEntry.objects.count()


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-id").first()


def checkpoint_note(checkpoint: Checkpoint) -> str:
    """The checkpoint note with the log signature and every witness cosignature."""
    body, signatures = checkpoints.split_note(checkpoint.note)
    lines = [
        c.signature_line for c in
        WitnessCosignature.objects.filter(checkpoint=checkpoint).order_by("witness__name")
    ]
    return checkpoints.assemble(body, signatures) + "".join(lines)


def current_log_key() -> LogKey | None:
    return LogKey.objects.order_by("-created_at", "-id").first()


def log_index_for(version: AnnouncementVersion) -> int | None:
    """The log index at which this published version was logged (None: not logged)."""
    return (
        LogEntry.objects.filter(
            version=version, kind__in=(LogKind.PUBLICATION, LogKind.CORRECTION)
        )
        .values_list("index", flat=True)
        .first()
    )


def log_indices_for(versions: list[AnnouncementVersion]) -> dict[int, int]:
    """{version id: log index} for many versions in one query (pages and API list them)."""
    return dict(
        LogEntry.objects.filter(
            version__in=versions, kind__in=(LogKind.PUBLICATION, LogKind.CORRECTION)
        ).values_list("version_id", "index")
    )


def entries(start: int, end: int) -> list[LogEntry]:
    if start < 0 or end <= start:
        raise ServiceError("invalid_range", "Rentang entri tidak valid (0 <= start < end).")
    end = min(end, start + MAX_ENTRIES_PER_PAGE)
    return list(
        LogEntry.objects.filter(index__gte=start, index__lt=end).order_by("index").only(
            "index", "kind", "leaf", "leaf_hash", "announcement_id", "created_at"
        )
    )


def _require_size(size: int, hashes: list[bytes]) -> None:
    if not 0 <= size <= len(hashes):
        raise NotFound(f"Log belum mencapai ukuran {size} (ukuran sekarang {len(hashes)}).")


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    path: list[bytes]


def inclusion_proof(index: int, size: int) -> InclusionProof:
    hashes = leaf_hashes()
    _require_size(size, hashes)
    if not 0 <= index < size:
        raise ServiceError("invalid_range", "Indeks harus lebih kecil dari ukuran pohon.")
    tree = hashes[:size]
    return InclusionProof(
        index=index, tree_size=size, leaf_hash=tree[index], root_hash=merkle.root_hash(tree),
        path=merkle.inclusion_proof(index, tree),
    )


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]


def consistency_proof(first: int, second: int) -> ConsistencyProof:
    hashes = leaf_hashes()
    _require_size(second, hashes)
    if not 0 <= first <= second:
        raise ServiceError("invalid_range", "Ukuran awal harus di antara 0 dan ukuran akhir.")
    tree = hashes[:second]
    return ConsistencyProof(
        first=first, second=second, first_root=merkle.root_hash(tree[:first]),
        second_root=merkle.root_hash(tree), path=merkle.consistency_proof(first, tree),
    )


@dataclass(frozen=True)
class WitnessStatus:
    name: str
    operator: str
    active: bool
    tree_size: int | None
    cosigned_at: datetime | None
    count: int


def witness_status() -> list[WitnessStatus]:
    """Which witness cosigned up to which tree size, and when last."""
    rows = Witness.objects.annotate(
        max_size=Max("cosignatures__checkpoint__tree_size"),
        last=Max("cosignatures__created_at"),
        n=Count("cosignatures"),
    ).order_by("name")
    return [
        WitnessStatus(name=w.name, operator=w.operator, active=w.active, tree_size=w.max_size,
                      cosigned_at=w.last, count=w.n)
        for w in rows
    ]
