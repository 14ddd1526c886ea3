"""`manage.py import_users FILE [--dry-run]`: bulk import ASN from CSV (see accounts.importer).

Every bad line is printed as `line N: reason` on stderr and the command exits with status 1;
nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.importer import import_users, text_lines


class Command(BaseCommand):
    help = "Import users from CSV (nip,name,email,position,unit_code,role); all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8; '-' reads standard input")
        parser.add_argument("--dry-run", action="store_true", help="validate only")

    def handle(self, *args, file: str, dry_run: bool, **options) -> None:
        started = time.perf_counter()

        def progress(phase: str, done: int) -> None:
            if options.get("verbosity", 1) >= 2:
                self.stderr.write(f"{phase}: {done} rows")

        try:
            binary = sys.stdin.buffer if file == "-" else open(file, "rb")
        except OSError as exc:
            raise CommandError(f"Cannot open {file}: {exc}") from exc
        with binary:
            result = import_users(text_lines(binary), actor=None, dry_run=dry_run,
                                  progress=progress)
        elapsed = time.perf_counter() - started
        if result.errors:
            for line, reason in result.errors:
                self.stderr.write(f"line {line}: {reason}")
            raise CommandError(
                f"{len(result.errors)} bad line(s); nothing was imported.", returncode=1
            )
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{result.rows} rows valid in {elapsed:.1f}s: {result.created} people {verb} "
            f"created, {result.updated} updated, {result.unchanged} unchanged, "
            f"{result.memberships_created} memberships added."
            + (" Dry run: nothing written." if dry_run else "")
        )
