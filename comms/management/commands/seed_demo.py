"""`manage.py seed_demo`: the real organisation, demo people, then each app's demo data."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Create the demo organisation and users (idempotent), then each app's demo data. "
        "Refuses when DEBUG is off unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="password of the demo users (else DEMO_PASSWORD)")
        parser.add_argument("--force", action="store_true",
                            help="run even though DEBUG is off (never on a real deployment)")

    def handle(self, *args, **options) -> None:
        from accounts import demo as accounts_demo
        from announcements import demo as announcements_demo
        from channels_app import demo as channels_demo

        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates accounts with a known password; it refuses to run when "
                "DEBUG is off. Use --force if this really is a demo server."
            )
        password = options["password"] or os.environ.get("DEMO_PASSWORD", "")
        if not password:
            raise CommandError("Give the demo password with --password or DEMO_PASSWORD.")
        for seed in (accounts_demo.seed, announcements_demo.seed, channels_demo.seed):
            seed(password=password, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
