"""Demo data of this app, called by `manage.py seed_demo` after the organisation and users exist.

Must be idempotent: a second run changes nothing.
"""

from __future__ import annotations

from typing import TextIO


def seed(*, password: str, stdout: TextIO) -> None:
    # Filled in by this app's issue; seed_demo calls every app's seed() in dependency order.
    return None
