"""`python manage.py export_log DIR`: write the transparency log for offline verification by
`tools/verify_log.py DIR` (format: docs/transparency.md).

The export holds every signed payload, so it contains the text of internal announcements:
treat it as internal. Rows are written exactly as the database holds them (in index order),
never re-derived, so that whatever was changed in the database shows in the export.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from announcements.signing import crypto
from announcements.signing.models import SigningKey
from announcements.transparency import checkpoints
from announcements.transparency.models import Checkpoint, LogEntry, LogKey, Witness
from announcements.transparency.selectors import checkpoint_note


def _b64(data) -> str:
    return base64.b64encode(bytes(data)).decode()


class Command(BaseCommand):
    help = "Export the transparency log (entries, checkpoints, public keys) to DIR."

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory")

    def handle(self, *args, directory: str, **options) -> None:
        target = Path(directory)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot create {target}: {exc}") from exc
        entries = 0
        with (target / "entries.jsonl").open("w", encoding="utf-8") as out:
            for entry in LogEntry.objects.order_by("index").iterator(chunk_size=500):
                out.write(json.dumps({
                    "index": entry.index,
                    "leaf": _b64(entry.leaf),
                    "payload": _b64(entry.payload.encode()),
                }) + "\n")
                entries += 1
        notes = 0
        with (target / "checkpoints.jsonl").open("w", encoding="utf-8") as out:
            for checkpoint in Checkpoint.objects.order_by("id").iterator(chunk_size=500):
                out.write(json.dumps({"note": checkpoint_note(checkpoint)}) + "\n")
                notes += 1
        keys = {
            "log_keys": [
                {"name": k.name, "public_key": _b64(k.public_key),
                 "vkey": checkpoints.verifier_key(k.name, bytes(k.public_key))}
                for k in LogKey.objects.order_by("id")
            ],
            "signing_keys": [
                {"key_id": k.key_id, "unit": k.unit.code, "public_key": _b64(k.public_key),
                 "valid_from": crypto.rfc3339(k.valid_from),
                 "valid_until": crypto.rfc3339(k.valid_until),
                 "revoked_at": crypto.rfc3339(k.revoked_at)}
                for k in SigningKey.objects.select_related("unit").order_by("id")
            ],
            "witnesses": [
                {"name": w.name, "public_key": _b64(w.public_key), "operator": w.operator}
                for w in Witness.objects.order_by("name")
            ],
        }
        (target / "keys.json").write_text(json.dumps(keys, indent=2), encoding="utf-8")
        self.stdout.write(f"exported {entries} entries and {notes} checkpoints to {target}")
