"""Check every published version and withdrawal: hash, signature, key validity, field
agreement with the payload, and the supersedes chain. Exits 1 naming each failure."""

from __future__ import annotations

from itertools import groupby

from django.core.management.base import BaseCommand

from announcements.models import AnnouncementVersion, VersionState, Withdrawal
from announcements.signing import crypto
from announcements.signing.models import SigningKey


class Command(BaseCommand):
    help = "Verify the signatures of every published announcement version and withdrawal."

    def handle(self, *args, **options) -> None:
        keys = {key.key_id: key for key in SigningKey.objects.select_related("unit")}
        failures: list[str] = []
        checked = 0
        versions = (
            AnnouncementVersion.objects.filter(state=VersionState.PUBLISHED)
            .select_related("announcement__issuer")
            .prefetch_related("attachments")
            .order_by("announcement_id", "number")
            .iterator(chunk_size=500)
        )
        for announcement_id, group in groupby(versions, key=lambda v: v.announcement_id):
            previous = None
            for version in group:
                checked += 1
                check = crypto.check_version(version, previous=previous, keys=keys)
                if previous is not None and version.number != previous.number + 1:
                    check.fail(f"version numbers jump from {previous.number}")
                for problem in check.problems:
                    failures.append(
                        f"announcement {announcement_id} v{version.number} "
                        f"({version.announcement.verify_code}): {problem}"
                    )
                previous = version
        for withdrawal in Withdrawal.objects.select_related("announcement").iterator():
            checked += 1
            for problem in crypto.check_withdrawal(withdrawal).problems:
                failures.append(f"withdrawal of announcement {withdrawal.announcement_id}: "
                                f"{problem}")
        for line in failures:
            self.stderr.write(f"INVALID {line}")
        if failures:
            self.stderr.write(f"{len(failures)} problem(s) in {checked} signed record(s)")
            raise SystemExit(1)
        self.stdout.write(f"OK: {checked} signed record(s) verified")
