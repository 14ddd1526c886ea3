"""Writes of the transparency log: append a signed event, sign a checkpoint, accept witness
cosignatures, register witnesses. Reads are in `log_selectors`. See docs/transparency.md.

`append_signed()` is the log of the signing pipeline (registered by AnnouncementsConfig.ready
with announcements.signing.records.register_log): every signed record (publication, correction,
withdrawal, official answer) reaches it through `records.log()`, inside the signing transaction,
at the point where the signed record is final: the log entry and its checkpoint commit or roll
back together with the publication.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import rfc8785
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from announcements.models import Announcement, AnnouncementVersion, Withdrawal
from announcements.signing import crypto
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

logger = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that serialises appends (indices stay dense and every
#: checkpoint extends the one before). Distinct from realtime.outbox.EVENT_LOCK_KEY, which the
#: publishing transaction takes after this one (emit() comes last), so the order is fixed.
LOG_LOCK_KEY = 0x636F6D6D736C6F67  # "commslog"


def _lock() -> None:
    # SQLite: transactions are BEGIN IMMEDIATE (settings), so writers are already serialised.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOG_LOCK_KEY])


def make_leaf(
    *, kind: str, announcement_id: int, version: int | None, content_hash: str, key_id: str,
    signature: str, published_at: datetime,
) -> bytes:
    return rfc8785.dumps({
        "kind": kind,
        "announcement_id": announcement_id,
        "version": version,
        "content_hash": content_hash,
        "key_id": key_id,
        "signature": signature,
        "published_at": crypto.rfc3339(published_at),
    })


def kind_for(record: Any) -> str:
    if isinstance(record, Withdrawal):
        return LogKind.WITHDRAWAL
    if isinstance(record, AnnouncementVersion):
        return LogKind.PUBLICATION if record.number == 1 else LogKind.CORRECTION
    raise ValueError("pass kind= for this record")


def append_signed(
    *,
    record: Any,
    kind: str | None = None,
    announcement: Announcement | None = None,
    version: AnnouncementVersion | None = None,
    published_at: datetime | None = None,
) -> LogEntry:
    """Append the signed `record` (a published AnnouncementVersion, a Withdrawal, or any signed
    record with payload/content_hash/signature/key_id) and sign a new checkpoint.

    For a version or a withdrawal everything is read from the record; for other records (the
    official answer) pass `announcement` and `published_at`. `kind` defaults to publication or
    correction (by version number) or withdrawal (by record type).
    """
    kind = kind or kind_for(record)
    if kind not in LogKind.values:
        raise ValueError(f"unknown log kind {kind!r}")
    if isinstance(record, AnnouncementVersion):
        version = record
        announcement = record.announcement
        published_at = record.published_at
    elif isinstance(record, Withdrawal):
        announcement = record.announcement
        published_at = record.withdrawn_at
    if announcement is None or published_at is None:
        raise ValueError("append_signed needs the announcement and the signing time")
    if version is None:
        version = announcement.current_version
    if not record.signature or not record.payload:
        raise ValueError("only signed records enter the log")
    leaf = make_leaf(
        kind=kind, announcement_id=announcement.pk,
        version=version.number if version is not None else None,
        content_hash=record.content_hash, key_id=record.key_id, signature=record.signature,
        published_at=published_at,
    )
    # No savepoint of its own (a SAVEPOINT and a RELEASE, 2 of a publication's round trips):
    # the callers sign inside their transaction, and a failure here must undo the signing too.
    with transaction.atomic(savepoint=False):
        _lock()
        last = LogEntry.objects.order_by("-index").values_list("index", flat=True).first()
        entry = LogEntry.objects.create(
            index=0 if last is None else last + 1,
            kind=kind,
            announcement=announcement,
            version=version,
            leaf=leaf,
            leaf_hash=merkle.leaf_hash(leaf),
            payload=record.payload,
        )
        sign_checkpoint(appended=entry)
    return entry


def log_key() -> LogKey:
    """The log's signing key, created on first use (under the append lock).

    Its name, the log *origin*, is fixed at creation from SITE_URL's host: a checkpoint's first
    line must never change, whatever SITE_URL becomes later.
    """
    key = LogKey.objects.order_by("-created_at", "-id").first()
    if key is None:
        host = urlparse(settings.SITE_URL).netloc or "comms"
        new = crypto.generate_key()
        key = LogKey.objects.create(
            name=f"{host}/log", public_key=new.public_raw, private_key_pem=new.private_pem
        )
        logger.info("transparency log key %s created", key.name)
    return key


def sign_checkpoint(*, appended: LogEntry) -> Checkpoint:
    """Sign a checkpoint of the log that `appended`, the entry just written, extends by one.

    The new root comes from the previous checkpoint's compact range and the new leaf hash:
    O(log n) hashes, no leaf read, under the append lock. That range must still give the root
    the previous checkpoint signed, and the new entry must come right after it; if not (or
    after a checkpoint signed before ranges were kept) the tree is read from the rows as they
    are. Whether every row still says what was signed is checked in full by
    `manage.py audit_log`, and by every witness: consistency proofs come from the rows.
    """
    from announcements.transparency.selectors import latest_checkpoint

    previous = latest_checkpoint()
    now = timezone.now().replace(microsecond=0)
    if previous is not None:
        # Times never go backwards, even with clocks of several servers slightly apart.
        now = max(now, previous.created_at)
    extended = _extended_range(previous, appended)
    size, nodes = extended if extended is not None else _range_from_rows(previous)
    key = log_key()
    root = merkle.range_root(nodes)
    body = checkpoints.format_checkpoint(key.name, size, root, now)
    signature = checkpoints.sign(body, key.name, crypto.load_private_key(key.private_key_pem))
    return Checkpoint.objects.create(
        tree_size=size, root_hash=root, created_at=now, log_key=key,
        note=checkpoints.assemble(body, [signature]), compact_range=merkle.pack_range(nodes),
    )


def _extended_range(previous: Checkpoint | None,
                    appended: LogEntry) -> tuple[int, list[bytes]] | None:
    """(size, compact range) after `appended`, from the previous checkpoint alone; None when
    that checkpoint cannot be extended (no range kept, or it disagrees with what was signed)."""
    if previous is None:
        return (1, [bytes(appended.leaf_hash)]) if appended.index == 0 else None
    kept, size = bytes(previous.compact_range), previous.tree_size
    if not kept:
        return None  # signed before compact ranges were kept (migration 0009)
    try:
        nodes = merkle.unpack_range(kept)
    except merkle.ProofError:
        nodes = []
    if (len(nodes) != size.bit_count() or merkle.range_root(nodes) != bytes(previous.root_hash)
            or appended.index != size):
        logger.critical(
            "transparency log state differs from checkpoint %s (size %s, new entry %s): the "
            "database was changed; reading the whole log", previous.pk, size, appended.index,
        )
        return None
    return size + 1, merkle.range_append(nodes, size, bytes(appended.leaf_hash))


def _range_from_rows(previous: Checkpoint | None) -> tuple[int, list[bytes]]:
    """(size, compact range) of every row as stored now: reads every leaf hash."""
    from announcements.transparency.selectors import leaf_hashes

    hashes = leaf_hashes()
    if previous is not None and (
        merkle.root_hash(hashes[: previous.tree_size]) != bytes(previous.root_hash)
    ):
        # The rows no longer say what was signed: someone changed the database. Publication
        # goes on (official announcements must not stop), and the next checkpoint makes the
        # rewrite provable to every witness and auditor. This is the alarm for operators.
        logger.critical(
            "transparency log rows differ from checkpoint %s (size %s): the database was "
            "changed; witnesses will refuse the next checkpoint",
            previous.pk, previous.tree_size,
        )
    return len(hashes), merkle.compact_range(hashes)


# --- Witnesses -----------------------------------------------------------------------------


def _decode_public_key(value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except ValueError as exc:
        raise ServiceError("invalid_key", "Kunci publik bukan base64.") from exc
    if len(raw) == 33 and raw[:1] == checkpoints.ALG_ED25519:
        raw = raw[1:]  # the signed-note verifier-key form (algorithm byte, then the key)
    if len(raw) != 32:
        raise ServiceError("invalid_key", "Kunci publik Ed25519 harus 32 byte.")
    return raw


def witness_register(*, name: str, public_key: str, operator: str = "") -> Witness:
    """Register (or re-activate with a new key) a witness; an operator action (CLI/admin)."""
    if not checkpoints.WITNESS_NAME_RE.fullmatch(name or ""):
        raise ServiceError(
            "invalid_name", "Nama saksi: huruf, angka, titik, garis bawah, '-' atau '/'; maks. 100."
        )
    raw = _decode_public_key(public_key)
    with transaction.atomic():
        witness, created = Witness.objects.get_or_create(
            name=name, defaults={"public_key": raw, "operator": operator}
        )
        if not created:
            Witness.objects.filter(pk=witness.pk).update(
                public_key=raw, operator=operator or witness.operator, active=True
            )
            witness.refresh_from_db()
    return witness


def witness_deactivate(*, name: str) -> None:
    with transaction.atomic():
        if not Witness.objects.filter(name=name).update(active=False):
            raise NotFound("Saksi tidak dikenal.")


def cosignatures_add(*, note: str) -> list[WitnessCosignature]:
    """Accept the cosignatures in `note` (a checkpoint this log signed, with witness signature
    lines added). Each line must verify with the key of a registered, active witness."""
    try:
        body, signatures = checkpoints.split_note(note)
        parsed = checkpoints.parse_checkpoint(body)
    except checkpoints.NoteError as exc:
        raise ServiceError("invalid_note", f"Catatan checkpoint tidak valid: {exc}") from exc
    checkpoint = next(
        (c for c in Checkpoint.objects.filter(tree_size=parsed.size).order_by("-id")
         if checkpoints.split_note(c.note)[0] == body),
        None,
    )
    if checkpoint is None:
        raise NotFound("Checkpoint ini tidak pernah ditandatangani oleh log ini.")
    witnesses = {w.name: w for w in Witness.objects.filter(active=True)}
    accepted: list[WitnessCosignature] = []
    with transaction.atomic():
        for signature in signatures:
            witness = witnesses.get(signature.name)
            if witness is None:
                continue  # the log's own signature, or a witness this server does not know
            if not checkpoints.verify(body, signature, bytes(witness.public_key)):
                raise ServiceError(
                    "invalid_cosignature",
                    f"Tanda tangan saksi {witness.name} tidak valid untuk checkpoint ini.",
                    status=403,
                )
            cosignature = WitnessCosignature.objects.filter(
                witness=witness, checkpoint=checkpoint
            ).first()
            if cosignature is None:
                cosignature = WitnessCosignature.objects.create(
                    witness=witness, checkpoint=checkpoint, signature_line=signature.line(),
                )
            accepted.append(cosignature)
    if not accepted:
        raise ServiceError(
            "unknown_witness",
            "Catatan ini tidak memuat tanda tangan saksi yang terdaftar.",
            status=403,
        )
    return accepted
