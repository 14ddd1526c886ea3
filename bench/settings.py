"""Settings of the processes the benchmarks start (servers, and the bench process itself).

Production settings (DEBUG off, every middleware on) served over plain HTTP on 127.0.0.1, with:
- its own database: DATABASE_URL when set, else `VAR_DIR/bench.sqlite3` — never the database of
  `make run`, which a benchmark would fill with thousands of synthetic users;
- the channel layer chosen by BENCH_LAYER (`core` = channels_redis.core.RedisChannelLayer,
  `pubsub` = channels_redis.pubsub.RedisPubSubChannelLayer) when REDIS_URL is set, through the
  project's CHANNEL_LAYER switch (`memory`, or no REDIS_URL: the settings' own choice).
"""

import os
from pathlib import Path

_var_dir = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
for _name, _value in {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-" + "b" * 60,
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "SECURE_HSTS_SECONDS": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SIGNING_KEY_PASSPHRASE": "bench-only-passphrase",
    "SITE_URL": "http://127.0.0.1",
    "DATABASE_URL": f"sqlite:///{_var_dir / 'bench.sqlite3'}",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_name, _value)
if os.environ.get("BENCH_LAYER") in ("core", "pubsub"):
    # The project's own switch (comms/settings.py), so that the servers run its exact config.
    os.environ["CHANNEL_LAYER"] = os.environ["BENCH_LAYER"]

from comms.settings import *  # noqa: E402, F403
from comms.settings import CHANNEL_LAYERS, REDIS_URL  # noqa: E402

_LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
_SETTINGS_LAYERS = CHANNEL_LAYERS


def layer_settings(layer: str) -> dict:
    """CHANNEL_LAYERS for `layer` (the bench process switches to its servers' layer with it)."""
    if layer not in (*_LAYERS, "memory"):
        raise ValueError(f"BENCH_LAYER must be core, pubsub or memory, not {layer!r}")
    if not REDIS_URL or layer == "memory":
        return _SETTINGS_LAYERS
    config = dict(_SETTINGS_LAYERS["default"].get("CONFIG", {}))
    if layer == "pubsub":
        # The pub/sub layer has no per-channel queues in Redis, hence no capacity or expiry.
        config = {key: value for key, value in config.items() if key in ("hosts", "prefix")}
    else:
        config.setdefault("capacity", 1000)
        config.setdefault("expiry", 60)
    return {"default": {"BACKEND": _LAYERS[layer], "CONFIG": config}}


BENCH_LAYER = os.environ.get("BENCH_LAYER", "core")
CHANNEL_LAYERS = layer_settings(BENCH_LAYER)

# BENCH_CONN_MAX_AGE: measure another database connection lifetime than the project's (e.g. 0,
# the value Django advises under ASGI) without editing comms/env.py.
if os.environ.get("BENCH_CONN_MAX_AGE", "") != "":
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])  # noqa: F405
