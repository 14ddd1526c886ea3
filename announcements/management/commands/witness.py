"""`python manage.py witness --url BASE --state DIR`: an independent witness of the log.

Run by another party (e.g. a regency's Diskominfo), typically from cron. It fetches the log's
latest checkpoint, checks the log signature (the log key is pinned in DIR on first run, or given
with --log-key), checks that the checkpoint is consistent with the last one it saw (RFC 9162
consistency proof), and if so cosigns it with its own key and posts the cosignature back.

An inconsistent checkpoint means the log rewrote history: the command exits 3, keeps the
evidence (both notes and the proof) in DIR/evidence-<time>/ and does NOT move on, so every later
run fails too until an operator looks. Other failures (network, bad signature) exit 1.

It talks to the server over HTTP only and uses no database. State in DIR:
witness.key (PKCS#8 PEM, mode 0600), witness.name, log.vkey, checkpoint.note.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError

from announcements.transparency import checkpoints, merkle

EXIT_INCONSISTENT = 3


class Inconsistent(Exception):
    pass


class NotServed(CommandError):
    """The log answered 404."""


class Command(BaseCommand):
    help = "Witness the transparency log: check consistency, cosign, post the cosignature."
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", required=True, help="base URL of the comms server")
        parser.add_argument("--state", required=True, help="directory for key and state")
        parser.add_argument("--name", help="witness name (first run only), e.g. saksi.33.02")
        parser.add_argument("--log-key", help="the log's verifier key (name+hash+base64)")
        parser.add_argument("--print-key", action="store_true",
                            help="print this witness's public key for registration and exit")
        parser.add_argument("--timeout", type=float, default=20)

    # --- state ----------------------------------------------------------------------

    def _key(self, state: Path, name: str | None) -> tuple[str, Ed25519PrivateKey]:
        key_path, name_path = state / "witness.key", state / "witness.name"
        if not key_path.exists():
            if not name:
                raise CommandError("first run: give --name for this witness")
            if not checkpoints.WITNESS_NAME_RE.fullmatch(name):
                raise CommandError("witness name: letters, digits, . _ - / only")
            state.mkdir(parents=True, exist_ok=True)
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            name_path.write_text(name + "\n")
        private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise CommandError(f"{key_path} is not an Ed25519 key")
        return name_path.read_text().strip(), private

    def _get(self, url: str, timeout: float) -> dict:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            error = NotServed if exc.code == 404 else CommandError
            raise error(f"GET {url}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CommandError(f"GET {url}: {exc}") from exc

    # --- the run --------------------------------------------------------------------

    def handle(self, *args, url: str, state: str, name: str | None, log_key: str | None,
               print_key: bool, timeout: float, **options):
        base = url.rstrip("/")
        state_dir = Path(state)
        witness_name, private = self._key(state_dir, name)
        public = checkpoints.public_bytes(private)
        if print_key:
            self.stdout.write(f"{witness_name} {base64.b64encode(public).decode()}")
            return
        fetched = self._get(f"{base}/api/v1/log/checkpoint", timeout)
        note = fetched.get("note", "")
        try:
            body, signatures = checkpoints.split_note(note)
            new = checkpoints.parse_checkpoint(body)
        except checkpoints.NoteError as exc:
            raise CommandError(f"the log served a malformed checkpoint: {exc}") from exc
        origin, log_public = self._log_key(state_dir, log_key, fetched)
        if new.origin != origin or not checkpoints.signed_by(body, signatures, origin,
                                                             log_public):
            raise CommandError("the checkpoint is not signed by the pinned log key")
        previous_path = state_dir / "checkpoint.note"
        if previous_path.exists():
            old_note = previous_path.read_text()
            old = checkpoints.parse_checkpoint(checkpoints.split_note(old_note)[0])
            try:
                proof = self._check_consistency(base, old, new, timeout)
            except Inconsistent as exc:
                evidence = self._keep_evidence(state_dir, old_note, note, exc)
                self.stderr.write(
                    f"INCONSISTENT: {exc}. The log rewrote its history. Evidence: {evidence}"
                )
                raise SystemExit(EXIT_INCONSISTENT) from exc
            self.stdout.write(
                f"checkpoint {new.size} is consistent with {old.size} ({len(proof)} hashes)"
            )
        else:
            self.stdout.write(f"first checkpoint seen: size {new.size}")
        previous_path.write_text(note)
        cosignature = checkpoints.sign(body, witness_name, private)
        self._post(base, checkpoints.assemble(body, [cosignature]), timeout)
        self.stdout.write(f"cosigned size {new.size} as {witness_name}")

    def _log_key(self, state: Path, given: str | None, fetched: dict) -> tuple[str, bytes]:
        pinned = state / "log.vkey"
        if pinned.exists():
            vkey = pinned.read_text().strip()
        elif given:
            vkey = given
        else:
            # Trust on first use: an operator who wants more passes --log-key from a trusted
            # channel (the value is on the /transparansi page and in the export).
            vkey = (fetched.get("log_key") or {}).get("vkey", "")
        try:
            name, key_hash, blob = vkey.split("+", 2)
            raw = base64.b64decode(blob, validate=True)
        except ValueError as exc:
            raise CommandError(f"malformed log verifier key {vkey!r}") from exc
        if raw[:1] != checkpoints.ALG_ED25519 or len(raw) != 33 or (
            checkpoints.key_hash(name, raw[1:]).hex() != key_hash
        ):
            raise CommandError(f"malformed log verifier key {vkey!r}")
        if not pinned.exists():
            pinned.write_text(vkey + "\n")
        return name, raw[1:]

    def _check_consistency(self, base: str, old, new, timeout: float) -> list[bytes]:
        if new.size < old.size:
            raise Inconsistent(f"the tree shrank from {old.size} to {new.size}")
        if new.size == old.size:
            if new.root != old.root:
                raise Inconsistent(f"two different roots for size {new.size}")
            return []
        try:
            data = self._get(
                f"{base}/api/v1/log/proof/consistency?from={old.size}&to={new.size}", timeout
            )
        except NotServed as exc:
            # The log signed a tree of new.size leaves and cannot prove it: rows are missing
            # behind a checkpoint, which is evidence like a proof that does not verify.
            raise Inconsistent(
                f"the log cannot prove that checkpoint {new.size} extends {old.size} ({exc})"
            ) from exc
        try:
            proof = [base64.b64decode(p, validate=True) for p in data["consistency_path"]]
            merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
        except (KeyError, TypeError, ValueError) as exc:
            raise Inconsistent(
                f"checkpoint {new.size} is not an extension of checkpoint {old.size} ({exc})"
            ) from exc
        return proof

    def _keep_evidence(self, state: Path, old_note: str, new_note: str, exc: Exception) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        directory = state / f"evidence-{stamp}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "previous.note").write_text(old_note)
        (directory / "refused.note").write_text(new_note)
        (directory / "reason.txt").write_text(f"{exc}\n")
        return directory

    def _post(self, base: str, note: str, timeout: float) -> None:
        request = urllib.request.Request(  # noqa: S310
            f"{base}/api/v1/log/cosignatures", data=json.dumps({"note": note}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
                pass
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise CommandError(
                f"the server refused the cosignature (HTTP {exc.code}: {detail}); is this "
                "witness registered? (python manage.py witness_key add NAME KEY on the server)"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise CommandError(f"POST cosignature: {exc}") from exc
