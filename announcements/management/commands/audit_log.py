"""`python manage.py audit_log`: recompute the whole transparency log from its rows.

Appending to the log reads no leaf: each checkpoint's root comes from the previous one's
compact range and the new leaf (docs/transparency.md). This audit is where the rows are read
again, all of them, in index order: it checks that indices are dense, that every leaf hash is
the hash of its leaf, and that every checkpoint's root (and kept compact range) is what the rows
give at its size. Run it periodically (cron, a systemd timer: hourly is plenty) on the server;
it exits 1 and logs CRITICAL when the database no longer says what the log signed.
"""

from __future__ import annotations

import logging
from collections import deque

from django.core.management.base import BaseCommand, CommandError

from announcements.transparency import merkle
from announcements.transparency.models import Checkpoint, LogEntry

logger = logging.getLogger("announcements.transparency.services")


class Command(BaseCommand):
    help = "Recompute the transparency log from its rows and check every checkpoint."

    def handle(self, *args, **options) -> None:
        pending = deque(
            Checkpoint.objects.order_by("tree_size", "id")
            .values_list("id", "tree_size", "root_hash", "compact_range")
        )
        problems: list[str] = []
        nodes: list[bytes] = []
        size = 0

        def check_checkpoints() -> None:
            while pending and pending[0][1] == size:
                pk, _, root, kept = pending.popleft()
                if bytes(root) != merkle.range_root(nodes):
                    problems.append(f"checkpoint {pk} (size {size}): root hash differs")
                elif kept and bytes(kept) != merkle.pack_range(nodes):
                    problems.append(f"checkpoint {pk} (size {size}): compact range differs")

        check_checkpoints()
        rows = LogEntry.objects.order_by("index").values_list("index", "leaf", "leaf_hash")
        for index, leaf, leaf_hash in rows.iterator(chunk_size=2000):
            if index != size:
                problems.append(f"entry {size}: index is {index}, expected {size}")
            if bytes(leaf_hash) != merkle.leaf_hash(bytes(leaf)):
                problems.append(f"entry {index}: leaf hash is not the hash of the leaf")
            nodes = merkle.range_append(nodes, size, bytes(leaf_hash))
            size += 1
            check_checkpoints()
        problems += [f"checkpoint {pk} (size {tree_size}): the log has only {size} entries"
                     for pk, tree_size, _, _ in pending]
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            logger.critical("transparency log audit: %d problem(s), first: %s",
                            len(problems), problems[0])
            raise CommandError(f"the log rows differ from what was signed ({len(problems)})")
        self.stdout.write(f"OK: {size} entries, root {merkle.range_root(nodes).hex()}")
