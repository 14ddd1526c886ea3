"""Real-time gateway micro-benchmarks (issue 5): which channel layer, and the per-message hop.

1. Layer fan-out: N channels of one process (= N connections of one server) join a group; M
   events are group_sent; the time until every channel has received every event, for
   channels_redis.core.RedisChannelLayer and channels_redis.pubsub.RedisPubSubChannelLayer on
   the same Redis.
2. Dispatch hop: what Channels 4.3's `aclose_old_connections()` (a thread hop before every
   message a consumer handles) costs per delivered message, against no hop — the gateway's
   broadcast handler skips it (realtime.consumers.GatewayConsumer.dispatch).

    REDIS_URL=redis://127.0.0.1:6379/3 python -m bench.realtime_layers [--clients 1000]
              [--events 20]

Results: printed, and written to bench/results/realtime_layers.json. The full end-to-end
benchmark with real servers and clients is bench/fanout.py (issue 9).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms.test_settings")

import django

django.setup()

from channels.db import aclose_old_connections  # noqa: E402
from channels_redis.core import RedisChannelLayer  # noqa: E402
from channels_redis.pubsub import RedisPubSubChannelLayer  # noqa: E402
from django.conf import settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "realtime_layers.json"


def make_layer(kind: str, clients: int):
    hosts = [{"address": settings.REDIS_URL, "socket_timeout": None}]
    prefix = f"bench-rt-{kind}-{os.getpid()}"
    if kind == "core":
        return RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=max(1000, clients))
    return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)


async def layer_fanout(kind: str, clients: int, events: int) -> dict:
    layer = make_layer(kind, clients)
    channels = [await layer.new_channel() for _ in range(clients)]
    for channel in channels:
        await layer.group_add("bench", channel)
    text = json.dumps({"id": 1, "type": "announcement.published", "data": {"title": "x" * 200}})

    async def drain(channel: str) -> None:
        for _ in range(events):
            await layer.receive(channel)

    receivers = [asyncio.ensure_future(drain(channel)) for channel in channels]
    await asyncio.sleep(0.5)  # receivers subscribed / polling
    started = time.perf_counter()
    for number in range(events):
        await layer.group_send("bench", {"type": "event.push", "id": number, "text": text})
    await asyncio.gather(*receivers)
    elapsed = time.perf_counter() - started
    for channel in channels:
        await layer.group_discard("bench", channel)
    await layer.flush()
    deliveries = clients * events
    return {
        "layer": kind,
        "clients": clients,
        "events": events,
        "seconds": round(elapsed, 3),
        "deliveries_per_second": round(deliveries / elapsed),
        "ms_per_event": round(elapsed / events * 1000, 1),
    }


async def dispatch_hop(messages: int) -> dict:
    started = time.perf_counter()
    for _ in range(messages):
        await aclose_old_connections()
    with_hop = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(messages):
        await asyncio.sleep(0)
    without = time.perf_counter() - started
    return {
        "messages": messages,
        "us_per_message_with_hop": round(with_hop / messages * 1e6, 1),
        "us_per_message_without": round(without / messages * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime_layers")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    if not settings.REDIS_URL:
        raise SystemExit("REDIS_URL must be set (both layers run on Redis).")
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "fanout": [
            asyncio.run(layer_fanout(kind, args.clients, args.events))
            for kind in ("core", "pubsub")
        ],
        "dispatch_hop": asyncio.run(dispatch_hop(args.clients * 5)),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
