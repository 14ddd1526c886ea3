"""Strict parsers for configuration from the environment.

Every parser fails loudly: a value that cannot be understood stops start-up with a message that
names the variable, instead of silently falling back to a default (healthchecks does the same).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate limit written `COUNT/SECONDS`, e.g. `30/60` (common.ratelimit)."""
    raw = os.environ.get(name)
    text = default if raw is None or raw.strip() == "" else raw.strip()
    count, slash, seconds = text.partition("/")
    if (slash and count.strip().isascii() and count.strip().isdigit()
            and seconds.strip().isascii() and seconds.strip().isdigit()
            and int(count) >= 1 and int(seconds) >= 1):
        return int(count), int(seconds)
    raise ImproperlyConfigured(
        f"{name} must be COUNT/SECONDS with both at least 1, e.g. 30/60, not {text!r}."
    )


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default: dict) -> dict:
    """Parse a database URL; only PostgreSQL and SQLite are supported."""
    import dj_database_url

    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if not raw.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"{name} must be a postgres:// or sqlite:// URL, not {raw!r}."
        )
    try:
        # CONN_MAX_AGE=0 with a pool: under ASGI every request runs in a thread of its own, and
        # persistent connections piled up one per finished thread (bench: 85 PostgreSQL
        # connections after 200 requests on one process, then "too many clients"); without
        # any reuse, opening a connection per WebSocket action cut acknowledgements from 168/s
        # to 64/s. Django's psycopg pool gives both bounded connections and reuse.
        config = dj_database_url.parse(raw, conn_max_age=0)
    except Exception as exc:  # dj-database-url raises several exception types
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config.get("ENGINE") == "django.db.backends.postgresql":
        if not config.get("NAME"):
            raise ImproperlyConfigured(
                f"{name} must name a database, e.g. postgres://host/comms."
            )
        pool_size = env_int("DATABASE_POOL_SIZE", 10, minimum=1)
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": pool_size, "timeout": 10,
        }
    if config.get("ENGINE") == "django.db.backends.sqlite3" and default.get("ENGINE") == (
        "django.db.backends.sqlite3"
    ):
        # The embedded default's busy timeout, IMMEDIATE transactions and WAL: without them a
        # second process on the same file (the test servers, the task worker) fails at once
        # with "database is locked" under concurrent requests.
        config["OPTIONS"] = {**default.get("OPTIONS", {}), **config.get("OPTIONS", {})}
    return config


def env_redis_url(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name} must be a redis:// URL, not {raw!r}.")
    return raw


def redis_channel_prefix(url: str) -> str:
    """Channel-layer prefix for a Redis URL: `comms<db>`.

    Redis pub/sub ignores the database number, so two deployments (or test runs) sharing one
    Redis on different DBs would hear each other's groups; the prefix keeps them apart.
    """
    from urllib.parse import urlsplit

    return f"comms{urlsplit(url).path.strip('/') or '0'}"
