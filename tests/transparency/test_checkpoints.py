"""The checkpoint note format (C2SP signed-note): round trip, signatures, malformed notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from announcements.transparency import checkpoints

ROOT = bytes(range(32))
TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_format_parse_sign_and_verify_round_trip():
    key = Ed25519PrivateKey.generate()
    body = checkpoints.format_checkpoint("comms.test/log", 12, ROOT, TIME)
    assert body == ("comms.test/log\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
                    "2026-01-02T03:04:05Z\n")
    note = checkpoints.assemble(body, [checkpoints.sign(body, "comms.test/log", key)])
    parsed_body, signatures = checkpoints.split_note(note)
    assert parsed_body == body
    parsed = checkpoints.parse_checkpoint(parsed_body)
    assert (parsed.origin, parsed.size, parsed.root, parsed.time) == (
        "comms.test/log", 12, ROOT, TIME)
    public = checkpoints.public_bytes(key)
    assert checkpoints.signed_by(body, signatures, "comms.test/log", public)
    other = checkpoints.format_checkpoint("comms.test/log", 13, ROOT, TIME)
    assert not checkpoints.signed_by(other, signatures, "comms.test/log", public)
    assert not checkpoints.signed_by(body, signatures, "comms.test/log",
                                     checkpoints.public_bytes(Ed25519PrivateKey.generate()))


def test_verifier_key_string():
    public = bytes(32)
    vkey = checkpoints.verifier_key("comms.test/log", public)
    name, key_hash, blob = vkey.split("+", 2)
    assert name == "comms.test/log"
    assert key_hash == checkpoints.key_hash("comms.test/log", public).hex()
    assert blob == "AQ" + "A" * 42  # base64(0x01 || 32 zero bytes), 33 bytes: no padding


@pytest.mark.parametrize("note", [
    "",
    "no blank line\n",
    "a\n1\nAAAA\n2026-01-02T03:04:05Z\n\nnot a signature\n",
    "a\n1\nAAAA\n2026-01-02T03:04:05Z\n\n\u2014 a !!!\n",
    "a\n1\nAAAA\n2026-01-02T03:04:05Z\n\n\u2014 a AAAA\n",
    "x" * (checkpoints.MAX_NOTE_BYTES + 1),
])
def test_malformed_notes_are_refused(note):
    with pytest.raises(checkpoints.NoteError):
        checkpoints.split_note(note)


@pytest.mark.parametrize("body", [
    "origin\n12\nAAAA\n2026-01-02T03:04:05Z\n",  # root too short
    "origin\n012\n" + "A" * 43 + "=\n2026-01-02T03:04:05Z\n",  # leading zero
    "origin\n-1\n" + "A" * 43 + "=\n2026-01-02T03:04:05Z\n",
    "origin\n12\n" + "A" * 43 + "=\n2 Januari 2026\n",
    "origin\n12\n" + "A" * 43 + "=\n",
])
def test_malformed_checkpoints_are_refused(body):
    with pytest.raises(checkpoints.NoteError):
        checkpoints.parse_checkpoint(body)
