"""Signed checkpoints of the transparency log: the C2SP signed-note and tlog-checkpoint formats.

Pure functions (cryptography only, no Django). The text format is documented in
docs/transparency.md; in short a checkpoint note is

    <origin>\\n
    <tree size, decimal>\\n
    <root hash, standard base64>\\n
    <time, RFC 3339 UTC, e.g. 2025-01-31T02:03:04Z>\\n
    \\n
    — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>\\n
    — <witness name> <…>\\n            (zero or more cosignatures)

The signature covers every byte of the body (the first four lines, final newline included).
Following C2SP (https://c2sp.org/signed-note) lets existing tools read our checkpoints; the
witness cosignatures are plain Ed25519 note signatures by the witness key over the same body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

#: The signed-note algorithm byte for Ed25519.
ALG_ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
#: A note larger than this is refused before parsing (a checkpoint is ~200 bytes; a few dozen
#: cosignatures ~100 bytes each).
MAX_NOTE_BYTES = 16 * 1024
MAX_SIGNATURES = 100
#: Names we give witnesses (a subset of what signed-note allows: no spaces, no '+').
WITNESS_NAME_RE = re.compile(r"[A-Za-z0-9._/-]{1,100}")


class NoteError(ValueError):
    """A malformed note or checkpoint, or a signature that does not verify."""


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    size: int
    root: bytes
    time: datetime

    def text(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root, self.time)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_hash + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_checkpoint(origin: str, size: int, root: bytes, time: datetime) -> str:
    _check_name(origin)
    if size < 0 or len(root) != 32:
        raise NoteError("checkpoint needs a non-negative size and a 32-byte root hash")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{format_time(time)}\n"


def parse_checkpoint(body: str) -> CheckpointBody:
    lines = body.split("\n")
    if len(lines) != 5 or lines[-1] != "":
        raise NoteError("a checkpoint has exactly four lines, each ending in a newline")
    origin, size_text, root_text, time_text = lines[:4]
    if not origin or not size_text.isascii() or not size_text.isdigit():
        raise NoteError("checkpoint origin or tree size is malformed")
    if size_text != str(int(size_text)):
        raise NoteError("checkpoint tree size has leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise NoteError("checkpoint root hash is not base64") from exc
    if len(root) != 32:
        raise NoteError("checkpoint root hash is not 32 bytes")
    try:
        time = datetime.strptime(time_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise NoteError("checkpoint time is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)") from exc
    return CheckpointBody(origin=origin, size=int(size_text), root=root, time=time)


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError("a key name must be non-empty, without spaces or '+'")


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash of C2SP signed-note: SHA-256(name || "\\n" || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The note verifier key string `name+hash+base64(0x01||key)` that tools such as Go's
    golang.org/x/mod/sumdb/note accept."""
    _check_name(name)
    blob = base64.b64encode(ALG_ED25519 + public_key).decode()
    return f"{name}+{key_hash(name, public_key).hex()}+{blob}"


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(body: str, name: str, private_key: Ed25519PrivateKey) -> NoteSignature:
    _check_name(name)
    _check_body(body)
    return NoteSignature(
        name=name,
        key_hash=key_hash(name, public_bytes(private_key)),
        signature=private_key.sign(body.encode()),
    )


def _check_body(body: str) -> None:
    if not body.endswith("\n") or "\n\n" in body or "\r" in body:
        raise NoteError("a note body ends in a newline and holds no blank line")


def split_note(text: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its body and signature lines (not yet verified)."""
    if len(text.encode()) > MAX_NOTE_BYTES:
        raise NoteError("note is too large")
    body, sep, signatures = text.rpartition("\n\n")
    if not sep:
        raise NoteError("note has no blank line before its signatures")
    body += "\n"
    _check_body(body)
    if not signatures.endswith("\n"):
        raise NoteError("note does not end in a newline")
    parsed: list[NoteSignature] = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, blob = line[len(SIGNATURE_PREFIX):].partition(" ")
        _check_name(name)
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise NoteError("signature line is not base64") from exc
        if len(raw) != 4 + 64:
            raise NoteError("signature line is not an Ed25519 note signature")
        parsed.append(NoteSignature(name=name, key_hash=raw[:4], signature=raw[4:]))
    if len(parsed) > MAX_SIGNATURES:
        raise NoteError("note has too many signatures")
    return body, parsed


def verify(body: str, signature: NoteSignature, public_key: bytes) -> bool:
    if signature.key_hash != key_hash(signature.name, public_key):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature.signature, body.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_by(body: str, signatures: list[NoteSignature], name: str, public_key: bytes) -> bool:
    """Does one of `signatures` verify as `name`'s signature over `body`?"""
    return any(s.name == name and verify(body, s, public_key) for s in signatures)


def assemble(body: str, signatures: list[NoteSignature]) -> str:
    return body + "\n" + "".join(s.line() for s in signatures)
