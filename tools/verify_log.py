#!/usr/bin/env python3
"""Verify an export of the comms transparency log, offline: `python tools/verify_log.py DIR`.

DIR is what `python manage.py export_log DIR` writes (format: docs/transparency.md):
entries.jsonl, checkpoints.jsonl and keys.json. The script recomputes the Merkle tree from the
entries, checks every entry's content hash and Ed25519 signature, every checkpoint's log
signature (and the cosignatures of known witnesses), each checkpoint's root against the
recomputed tree and its consistency with the previous checkpoint. It exits 0 and prints a
summary, or exits 1 naming the first problem it found.

It needs only the Python standard library and `cryptography`: no Django, no database, nothing
from the project. That is also why it carries its own copy of the RFC 9162 hashing and of the
signed-note parsing (the project's are announcements/transparency/merkle.py and
announcements/transparency/checkpoints.py): an auditor must be able to run it without trusting, or
even installing, the code that produced the log. The duplication is deliberate; tests/transparency
checks both against the same data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LEAF_FIELDS = {
    "kind", "announcement_id", "version", "content_hash", "key_id", "signature", "published_at",
}
KINDS = {"publication", "correction", "withdrawal", "official_answer"}
EM_DASH = "\u2014 "


class Problem(Exception):
    """The first thing wrong with the export; the message names it."""


# --- RFC 9162 §2.1 (a copy, see the module docstring) --------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_hash(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(root_hash(hashes[:k]), root_hash(hashes[k:]))


def consistency_proof(first: int, hashes: Sequence[bytes]) -> list[bytes]:
    def subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if complete else [root_hash(d)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return [*subproof(m, d[:k], complete), root_hash(d[k:])]
        return [*subproof(m - k, d[k:], False), root_hash(d[:k])]

    if first in (0, len(hashes)):
        return []
    return subproof(first, hashes, True)


def consistent(first: int, second: int, r1: bytes, r2: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and r1 == r2
    if first == 0:
        return not proof
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, r1)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == r1 and sr == r2


# --- Signatures ----------------------------------------------------------------------------


def ed25519_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def note_key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]


def split_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    body, sep, sigs = text.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise ValueError("not a signed note")
    lines = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(EM_DASH):
            raise ValueError("malformed signature line")
        name, _, blob = line[len(EM_DASH):].partition(" ")
        raw = base64.b64decode(blob, validate=True)
        if len(raw) != 68:
            raise ValueError("signature line is not an Ed25519 note signature")
        lines.append((name, raw[:4], raw[4:]))
    return body + "\n", lines


def note_signed_by(body: str, sigs: list[tuple[str, bytes, bytes]], name: str, key: bytes) -> bool:
    return any(
        n == name and h == note_key_hash(name, key) and ed25519_ok(key, s, body.encode())
        for n, h, s in sigs
    )


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# --- The export ----------------------------------------------------------------------------


def b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise Problem(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise Problem(f"{what} is not base64") from exc


def load_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise Problem(f"{path.name} is missing")
    rows = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            row = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Problem(f"{path.name} line {number} is not JSON") from exc
        if not isinstance(row, dict):
            raise Problem(f"{path.name} line {number} is not a JSON object")
        rows.append(row)
    return rows


def load_keys(directory: Path) -> tuple[dict[str, bytes], dict[str, dict], dict[str, bytes]]:
    path = directory / "keys.json"
    if not path.is_file():
        raise Problem("keys.json is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise Problem("keys.json is not JSON") from exc
    log_keys = {k["name"]: b64(k.get("public_key"), "log key") for k in data.get("log_keys", [])}
    if not log_keys:
        raise Problem("keys.json names no log key")
    signing = {}
    for key in data.get("signing_keys", []):
        raw = b64(key.get("public_key"), f"signing key {key.get('key_id')}")
        if hashlib.sha256(raw).hexdigest()[:16] != key.get("key_id"):
            raise Problem(f"signing key {key.get('key_id')}: key id does not match the key")
        signing[key["key_id"]] = {**key, "raw": raw}
    witnesses = {w["name"]: b64(w.get("public_key"), "witness key")
                 for w in data.get("witnesses", [])}
    return log_keys, signing, witnesses


def check_entry(position: int, row: dict, signing: dict[str, dict]) -> bytes:
    """Check one entry; return its leaf hash."""
    where = f"entry {position}"
    if row.get("index") != position:
        raise Problem(
            f"{where}: index is {row.get('index')!r}, expected {position} "
            "(an entry is missing, duplicated or out of order)"
        )
    leaf = b64(row.get("leaf"), f"{where}: leaf")
    try:
        fields = json.loads(leaf)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(f"{where}: leaf is not JSON") from exc
    if not isinstance(fields, dict) or set(fields) != LEAF_FIELDS:
        raise Problem(f"{where}: leaf does not hold exactly {sorted(LEAF_FIELDS)}")
    # The leaf holds only ASCII keys, strings and integers, for which RFC 8785 is exactly this.
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canonical.encode() != leaf:
        raise Problem(f"{where}: leaf is not canonical JSON (RFC 8785)")
    if fields["kind"] not in KINDS:
        raise Problem(f"{where}: unknown kind {fields['kind']!r}")
    payload = b64(row.get("payload"), f"{where}: payload")
    if hashlib.sha256(payload).hexdigest() != fields["content_hash"]:
        raise Problem(f"{where}: the payload does not match the content hash in the leaf")
    key = signing.get(fields["key_id"])
    if key is None:
        raise Problem(f"{where}: signed with unknown key {fields['key_id']}")
    signature = b64(fields["signature"], f"{where}: signature")
    if not ed25519_ok(key["raw"], signature, payload):
        raise Problem(f"{where}: the signature does not verify with key {fields['key_id']}")
    published = parse_time(fields["published_at"])
    if key.get("valid_from") and published < parse_time(key["valid_from"]):
        raise Problem(f"{where}: signed before key {fields['key_id']} was valid")
    if key.get("valid_until") and published >= parse_time(key["valid_until"]):
        raise Problem(f"{where}: signed after key {fields['key_id']} expired")
    if key.get("revoked_at") and published >= parse_time(key["revoked_at"]):
        raise Problem(f"{where}: signed after key {fields['key_id']} was revoked")
    try:
        signed = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(f"{where}: the signed payload is not JSON") from exc
    for name in ("announcement_id", "key_id"):
        if isinstance(signed, dict) and name in signed and signed[name] != fields[name]:
            raise Problem(f"{where}: the leaf's {name} differs from the signed payload")
    return leaf_hash(leaf)


def verify(directory: Path) -> str:
    log_keys, signing, witnesses = load_keys(directory)
    entries = load_jsonl(directory / "entries.jsonl")
    hashes = [check_entry(i, row, signing) for i, row in enumerate(entries)]
    checkpoints = load_jsonl(directory / "checkpoints.jsonl")
    previous: tuple[int, bytes, datetime] | None = None
    cosigned: dict[str, int] = {}
    for number, row in enumerate(checkpoints, start=1):
        where = f"checkpoint {number}"
        try:
            body, sigs = split_note(row.get("note", ""))
            origin, size_text, root_text, time_text = body.split("\n")[:4]
            size, root, time = int(size_text), base64.b64decode(root_text), parse_time(time_text)
        except (ValueError, AttributeError, binascii.Error) as exc:
            raise Problem(f"{where}: malformed note ({exc})") from exc
        if origin not in log_keys or not note_signed_by(body, sigs, origin, log_keys[origin]):
            raise Problem(f"{where} (size {size}): the log signature does not verify")
        if size > len(hashes):
            raise Problem(
                f"{where}: signed for {size} entries but the export holds {len(hashes)} "
                "(entries were deleted)"
            )
        if root != root_hash(hashes[:size]):
            raise Problem(
                f"{where} (size {size}): root hash differs from the tree recomputed from the "
                "entries (an entry was changed, removed or reordered)"
            )
        if previous is not None:
            old_size, old_root, old_time = previous
            if size < old_size or time < old_time:
                raise Problem(f"{where}: goes back in size or time from the previous checkpoint")
            proof = consistency_proof(old_size, hashes[:size])
            if not consistent(old_size, size, old_root, root, proof):
                raise Problem(f"{where}: not consistent with the previous checkpoint")
        for name, key in witnesses.items():
            if any(n == name for n, _, _ in sigs):
                if not note_signed_by(body, sigs, name, key):
                    raise Problem(f"{where}: the cosignature of witness {name} does not verify")
                cosigned[name] = max(cosigned.get(name, 0), size)
        previous = (size, root, time)
    if previous is None:
        if hashes:
            raise Problem("the export holds entries but no signed checkpoint")
    elif previous[0] != len(hashes):
        raise Problem(
            f"entries {previous[0]}..{len(hashes) - 1} are not covered by any signed checkpoint"
        )
    witnessed = ", ".join(f"{n} up to {s}" for n, s in sorted(cosigned.items())) or "none"
    return (
        f"OK: {len(hashes)} entries, {len(checkpoints)} checkpoints, every signature valid; "
        f"root {root_hash(hashes).hex()}; witnessed: {witnessed}"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: verify_log.py DIR", file=sys.stderr)
        return 2
    try:
        print(verify(Path(argv[1])))
    except Problem as problem:
        print(f"FAILED: {problem}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError) as exc:
        print(f"FAILED: malformed export ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
