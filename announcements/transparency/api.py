"""Public JSON API of the transparency log (mounted under /api/v1/ by comms.urls).

No authentication: the log exists so that outsiders can check it. Leaves carry hashes and
signatures, never an announcement's text. Hashes and signatures are standard base64, except
`content_hash` inside a leaf (hex, as in the signed announcement API).
"""

from __future__ import annotations

import base64
from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from announcements.transparency import checkpoints
from announcements.transparency import selectors as log_selectors
from announcements.transparency import services as log_services
from common.schemas import OutSchema, errors

router = Router()


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode()


class LogKeyOut(Schema):
    name: str
    public_key: str = Field(description="raw Ed25519 public key, base64")
    vkey: str = Field(description="signed-note verifier key: name+hash+base64(0x01||key)")


class WitnessOut(OutSchema):
    name: str
    operator: str
    cosigned_tree_size: int | None
    cosigned_at: datetime | None


class CheckpointOut(Schema):
    tree_size: int
    root_hash: str
    time: str
    note: str = Field(description="the signed note (docs/transparency.md), with cosignatures")
    log_key: LogKeyOut
    witnesses: list[WitnessOut]


@router.get("/log/checkpoint", response={200: CheckpointOut, **errors(404)}, auth=None)
def get_checkpoint(request: HttpRequest):
    """The latest signed checkpoint of the log (tree size, root hash, time)."""
    checkpoint = log_selectors.latest_checkpoint()
    if checkpoint is None:
        from common.errors import NotFound

        raise NotFound("Log masih kosong: belum ada checkpoint.")
    key = checkpoint.log_key
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": b64(checkpoint.root_hash),
        "time": checkpoints.format_time(checkpoint.created_at),
        "note": log_selectors.checkpoint_note(checkpoint),
        "log_key": {
            "name": key.name, "public_key": b64(key.public_key),
            "vkey": checkpoints.verifier_key(key.name, bytes(key.public_key)),
        },
        "witnesses": [
            {"name": w.name, "operator": w.operator, "cosigned_tree_size": w.tree_size,
             "cosigned_at": w.cosigned_at}
            for w in log_selectors.witness_status() if w.active
        ],
    }


class EntryOut(Schema):
    index: int
    kind: str
    announcement_id: int
    leaf: str = Field(description="the canonical JSON leaf, base64")
    leaf_hash: str


class EntriesOut(Schema):
    tree_size: int
    entries: list[EntryOut]


class RangeQuery(Schema):
    start: int = Field(0, ge=0)
    end: int = Field(..., ge=1, description="exclusive; at most 1000 entries per request")


@router.get("/log/entries", response={200: EntriesOut, **errors(400, 422)}, auth=None)
def get_entries(request: HttpRequest, query: Query[RangeQuery]):
    """Log entries with index in [start, end)."""
    return {
        "tree_size": log_selectors.tree_size(),
        "entries": [
            {"index": e.index, "kind": e.kind, "announcement_id": e.announcement_id,
             "leaf": b64(e.leaf), "leaf_hash": b64(e.leaf_hash)}
            for e in log_selectors.entries(query.start, query.end)
        ],
    }


class InclusionQuery(Schema):
    index: int = Field(..., ge=0)
    size: int = Field(..., ge=1)


class InclusionOut(Schema):
    index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    inclusion_path: list[str]


@router.get("/log/proof/inclusion", response={200: InclusionOut, **errors(400, 404, 422)},
            auth=None)
def get_inclusion_proof(request: HttpRequest, query: Query[InclusionQuery]):
    """RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
    proof = log_selectors.inclusion_proof(query.index, query.size)
    return {
        "index": proof.index, "tree_size": proof.tree_size, "leaf_hash": b64(proof.leaf_hash),
        "root_hash": b64(proof.root_hash), "inclusion_path": [b64(p) for p in proof.path],
    }


class ConsistencyQuery(Schema):
    first: int = Field(..., ge=0, alias="from")
    second: int = Field(..., ge=0, alias="to")


class ConsistencyOut(Schema):
    first: int
    second: int
    first_root: str
    second_root: str
    consistency_path: list[str]


@router.get("/log/proof/consistency", response={200: ConsistencyOut, **errors(400, 404, 422)},
            auth=None)
def get_consistency_proof(request: HttpRequest, query: Query[ConsistencyQuery]):
    """RFC 9162 consistency proof that the tree of size `from` is a prefix of size `to`."""
    proof = log_selectors.consistency_proof(query.first, query.second)
    return {
        "first": proof.first, "second": proof.second, "first_root": b64(proof.first_root),
        "second_root": b64(proof.second_root),
        "consistency_path": [b64(p) for p in proof.path],
    }


class CosignatureIn(Schema):
    note: str = Field(..., max_length=checkpoints.MAX_NOTE_BYTES)


class AcceptedCosignatureOut(OutSchema):
    witness: str
    tree_size: int


class CosignatureOut(Schema):
    accepted: list[AcceptedCosignatureOut]


@router.post("/log/cosignatures", response={200: CosignatureOut, **errors(400, 403, 422)},
             auth=None)
def post_cosignatures(request: HttpRequest, payload: CosignatureIn):
    """A witness posts a checkpoint note with its cosignature line(s) added. No session or
    token: the signature of a registered witness key is the authentication."""
    accepted = log_services.cosignatures_add(note=payload.note)
    return {"accepted": [
        {"witness": c.witness.name, "tree_size": c.checkpoint.tree_size} for c in accepted
    ]}
