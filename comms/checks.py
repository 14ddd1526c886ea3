"""System checks for misconfiguration that Django's own checks do not cover."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register(deploy=True)
def check_production_services(app_configs: Any, **kwargs: Any) -> list:
    problems: list = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.DEBUG and engine != "django.db.backends.postgresql":
        problems.append(
            Warning(
                "Production should run on PostgreSQL.",
                hint="Set DATABASE_URL=postgres://…",
                id="comms.W001",
            )
        )
    if not settings.DEBUG and not settings.REDIS_URL:
        problems.append(
            Warning(
                "Production should use Redis for the channel layer and cache.",
                hint="Set REDIS_URL=redis://…; the in-memory layer only reaches one process.",
                id="comms.W002",
            )
        )
    if not settings.DEBUG and not settings.SIGNING_KEY_PASSPHRASE:
        problems.append(
            Error(
                "SIGNING_KEY_PASSPHRASE is not set.",
                hint="Private signing keys are encrypted with it; set a long random value.",
                id="comms.E001",
            )
        )
    return problems
