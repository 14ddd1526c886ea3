"""tools/verify_log.py on hand-made exports: it runs alone (a subprocess with no Django on its
path) and names the first problem when an entry is deleted, edited or reordered."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from announcements.transparency import checkpoints, merkle

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "tools" / "verify_log.py"
ORIGIN = "comms.test/log"
T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class HandMadeLog:
    """A log built by hand, following docs/transparency.md, with no project code but the
    checkpoint formatter."""

    def __init__(self) -> None:
        self.log_key = Ed25519PrivateKey.generate()
        self.unit_key = Ed25519PrivateKey.generate()
        self.witness_key = Ed25519PrivateKey.generate()
        self.key_id = hashlib.sha256(raw(self.unit_key)).hexdigest()[:16]
        self.entries: list[dict] = []
        self.notes: list[str] = []

    def append(self, kind: str = "publication", text: str = "Isi") -> None:
        index = len(self.entries)
        payload = json.dumps({"id": index, "text": text}, separators=(",", ":")).encode()
        signature = self.unit_key.sign(payload)
        leaf = {
            "kind": kind, "announcement_id": 100 + index, "version": 1,
            "content_hash": hashlib.sha256(payload).hexdigest(), "key_id": self.key_id,
            "signature": b64(signature),
            "published_at": (T0 + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        leaf_bytes = json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode()
        self.entries.append({"index": index, "leaf": b64(leaf_bytes), "payload": b64(payload)})
        self.checkpoint(T0 + timedelta(minutes=index))

    def leaf_hashes(self) -> list[bytes]:
        return [merkle.leaf_hash(base64.b64decode(e["leaf"])) for e in self.entries]

    def checkpoint(self, time: datetime, cosign: bool = False) -> None:
        hashes = self.leaf_hashes()
        body = checkpoints.format_checkpoint(ORIGIN, len(hashes), merkle.root_hash(hashes), time)
        sigs = [checkpoints.sign(body, ORIGIN, self.log_key)]
        if cosign:
            sigs.append(checkpoints.sign(body, "saksi.banyumas", self.witness_key))
        self.notes.append(checkpoints.assemble(body, sigs))

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "entries.jsonl").write_text(
            "".join(json.dumps(e) + "\n" for e in self.entries))
        (directory / "checkpoints.jsonl").write_text(
            "".join(json.dumps({"note": n}) + "\n" for n in self.notes))
        (directory / "keys.json").write_text(json.dumps({
            "log_keys": [{"name": ORIGIN, "public_key": b64(raw(self.log_key))}],
            "signing_keys": [{"key_id": self.key_id, "unit": "33.74.DISKOMINFO",
                              "public_key": b64(raw(self.unit_key)), "revoked_at": None}],
            "witnesses": [{"name": "saksi.banyumas", "public_key": b64(raw(self.witness_key))}],
        }))
        return directory


def run_verifier(directory: Path) -> subprocess.CompletedProcess:
    # -I: isolated mode, so the project (and Django) are not importable by accident.
    return subprocess.run([sys.executable, "-I", str(VERIFIER), str(directory)],
                          capture_output=True, text=True, timeout=60, cwd="/")


@pytest.fixture
def hand_log() -> HandMadeLog:
    made = HandMadeLog()
    for i in range(7):
        made.append(text=f"Pengumuman {i}")
    made.checkpoint(T0 + timedelta(hours=1), cosign=True)
    return made


def test_an_honest_export_verifies(hand_log, tmp_path):
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "OK: 7 entries, 8 checkpoints" in result.stdout
    assert merkle.root_hash(hand_log.leaf_hashes()).hex() in result.stdout
    assert "saksi.banyumas up to 7" in result.stdout


def test_the_verifier_runs_without_django():
    source = VERIFIER.read_text()
    assert "django" not in source.lower().replace("no django", "")
    assert "from announcements" not in source and "import announcements" not in source


def test_a_deleted_entry_is_named(hand_log, tmp_path):
    del hand_log.entries[3]
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "entry 3: index is 4, expected 3" in result.stderr


def test_a_deleted_and_renumbered_entry_breaks_the_checkpoints(hand_log, tmp_path):
    del hand_log.entries[3]
    for i, entry in enumerate(hand_log.entries):
        entry["index"] = i
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    # Checkpoint 4 covered entries 0..3; entry 3 is now what was entry 4.
    assert "checkpoint 4 (size 4): root hash differs" in result.stderr


def test_deleting_the_last_entry_is_caught_by_its_checkpoint(hand_log, tmp_path):
    hand_log.entries.pop()
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "checkpoint 7: signed for 7 entries but the export holds 6" in result.stderr


def test_an_edited_payload_is_named(hand_log, tmp_path):
    hand_log.entries[2]["payload"] = b64(b'{"id":2,"text":"Pengumuman palsu"}')
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "entry 2: the payload does not match the content hash" in result.stderr


def test_an_edited_leaf_with_a_fresh_signature_breaks_the_checkpoints(hand_log, tmp_path):
    """An insider with the unit key re-signs a changed text: the signatures are fine, the
    tree is not."""
    payload = b'{"id":2,"text":"Pengumuman palsu"}'
    leaf = json.loads(base64.b64decode(hand_log.entries[2]["leaf"]))
    leaf["content_hash"] = hashlib.sha256(payload).hexdigest()
    leaf["signature"] = b64(hand_log.unit_key.sign(payload))
    hand_log.entries[2]["leaf"] = b64(
        json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode())
    hand_log.entries[2]["payload"] = b64(payload)
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "checkpoint 3 (size 3): root hash differs" in result.stderr


def test_two_reordered_entries_break_the_checkpoints(hand_log, tmp_path):
    e = hand_log.entries
    e[4]["leaf"], e[5]["leaf"] = e[5]["leaf"], e[4]["leaf"]
    e[4]["payload"], e[5]["payload"] = e[5]["payload"], e[4]["payload"]
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "checkpoint 5 (size 5): root hash differs" in result.stderr


def test_a_bad_signature_is_named(hand_log, tmp_path):
    leaf = json.loads(base64.b64decode(hand_log.entries[1]["leaf"]))
    assert leaf["signature"]
    other = Ed25519PrivateKey.generate().sign(base64.b64decode(hand_log.entries[1]["payload"]))
    leaf["signature"] = b64(other)
    hand_log.entries[1]["leaf"] = b64(
        json.dumps(leaf, sort_keys=True, separators=(",", ":")).encode())
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "entry 1: the signature does not verify" in result.stderr


def test_a_checkpoint_signed_by_another_key_is_refused(hand_log, tmp_path):
    hand_log.log_key, real = Ed25519PrivateKey.generate(), hand_log.log_key
    hand_log.checkpoint(T0 + timedelta(hours=2))
    hand_log.log_key = real
    directory = hand_log.write(tmp_path)
    result = run_verifier(directory)
    assert result.returncode == 1
    assert "checkpoint 9 (size 7): the log signature does not verify" in result.stderr


def test_a_forged_cosignature_is_refused(hand_log, tmp_path):
    body, sigs = checkpoints.split_note(hand_log.notes[-1])
    forged = checkpoints.sign(body, "saksi.banyumas", Ed25519PrivateKey.generate())
    hand_log.notes[-1] = checkpoints.assemble(body, [sigs[0], forged])
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "cosignature of witness saksi.banyumas does not verify" in result.stderr


def test_entries_without_a_checkpoint_are_refused(hand_log, tmp_path):
    hand_log.append()
    hand_log.notes.pop()
    result = run_verifier(hand_log.write(tmp_path))
    assert result.returncode == 1
    assert "entries 7..7 are not covered by any signed checkpoint" in result.stderr


@pytest.mark.parametrize("damage", ["missing", "garbage", "not-object"])
def test_a_damaged_export_is_a_clear_failure(hand_log, tmp_path, damage):
    directory = hand_log.write(tmp_path)
    if damage == "missing":
        (directory / "checkpoints.jsonl").unlink()
        expected = "checkpoints.jsonl is missing"
    elif damage == "garbage":
        (directory / "entries.jsonl").write_bytes(b"\x00\xff garbage\n")
        expected = "entries.jsonl line 1"
    else:
        (directory / "entries.jsonl").write_text("[1, 2]\n")
        expected = "entries.jsonl line 1 is not a JSON object"
    result = run_verifier(directory)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
