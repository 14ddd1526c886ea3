"""`python manage.py witness_key add NAME PUBLIC_KEY [--operator TEXT] | list | remove NAME`:
register the witnesses whose cosignatures the log accepts (an operator's decision: a witness
is trusted because someone agreed with its operator, e.g. a regency's Diskominfo). The public
key is what `manage.py witness --print-key` prints on the witness's machine."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from announcements.transparency import selectors as log_selectors
from announcements.transparency import services as log_services
from common.errors import ServiceError


class Command(BaseCommand):
    help = "Register, list or deactivate transparency-log witnesses."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add")
        add.add_argument("name")
        add.add_argument("public_key", help="base64 raw Ed25519 public key")
        add.add_argument("--operator", default="")
        sub.add_parser("list")
        remove = sub.add_parser("remove")
        remove.add_argument("name")

    def handle(self, *args, action: str, **options) -> None:
        try:
            if action == "add":
                witness = log_services.witness_register(
                    name=options["name"], public_key=options["public_key"],
                    operator=options["operator"],
                )
                self.stdout.write(f"witness {witness.name} registered")
            elif action == "remove":
                log_services.witness_deactivate(name=options["name"])
                self.stdout.write(f"witness {options['name']} deactivated")
            else:
                for w in log_selectors.witness_status():
                    state = "active" if w.active else "inactive"
                    self.stdout.write(
                        f"{w.name}\t{state}\t{w.operator}\tcosigned up to {w.tree_size or '-'}"
                    )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
