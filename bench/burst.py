"""Benchmark 2 — burst: 100 announcements published at once to 1,000 connected clients.

The drafts are created and submitted first (not timed); then all are published through the API
by --concurrency parallel requests, spread over the server processes. Reported: deliveries per
second from the first publish request to the last verified delivery (the target's figure),
the same counted from the first to the last delivery (the gateway alone), the publish rate, and
whether every client got every announcement exactly once. The bare floor broadcasts the same
100 frames to the same clients in the same run.

    python -m bench.burst [--clients 1000] [--count 100] [--config auto|uvicorn/pubsub]
                          [--processes 2] [--concurrency 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import harness
from bench.stats import median, table

NAME = "burst"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = harness.quick()
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__)
    parser.add_argument("--clients", type=int,
                        default=int(os.environ.get("BENCH_BURST_CLIENTS", 500 if quick else 1000)))
    parser.add_argument("--count", type=int,
                        default=int(os.environ.get("BENCH_BURST_COUNT", 50 if quick else 100)))
    parser.add_argument("--config", default=os.environ.get("BENCH_CONFIG", "auto"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4,
                        help="parallel publish requests")
    parser.add_argument("--path", choices=["auto", "api", "emit"],
                        default=os.environ.get("BENCH_PUBLISH_PATH", "auto"))
    return harness.common_args(parser).parse_args(argv)


#: Columns of the CPU table (harness.CpuMeter).
CPU_PARTS = ["wall", "available", "machine", "servers", "load clients", "postgresql", "redis",
             "bench process", "other"]


def one_burst(client: harness.LoadClient, deployment: harness.Deployment, publisher: Any,
              count: int, concurrency: int) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:10]}-"
    markers = [f"{prefix}{index:04d}" for index in range(count)]
    client.call("watch", marker=prefix)
    meter = harness.CpuMeter(deployment.servers, client)
    if publisher.path == "floor":
        meter.start()
        t0, expected = publisher.publish_many(markers)
        published_s = time.monotonic() - t0
    elif publisher.path == "emit":
        meter.start()
        t0 = time.monotonic()
        expected = [publisher.publish(marker)[1] for marker in markers]
        published_s = time.monotonic() - t0
    else:
        drafts = [publisher.draft(marker) for marker in markers]
        urls = [server.url for server in deployment.servers]
        meter.start()
        t0 = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda item: publisher.publish_draft(item[1], urls[item[0] % len(urls)]),
                          enumerate(drafts)))
        published_s = time.monotonic() - t0
        expected = [publisher.expected_for(aid, marker) for aid, marker in zip(drafts, markers,
                                                                               strict=True)]
    result = client.call("collect", t0=t0, expected=expected, timeout=120)
    # From the first publication to the last delivery (collect returns then).
    result["cpu_s"] = meter.stop()
    last = result["last_s"]
    first = (result["first_ms"] or 0) / 1000
    result["published_s"] = round(published_s, 3)
    result["publish_per_s"] = round(count / published_s, 1) if published_s else None
    result["deliveries_per_s"] = round(result["ok"] / last) if last else None
    result["gateway_deliveries_per_s"] = (
        round(result["ok"] / (last - first)) if last and last > first else None
    )
    return result


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    harness.setup_django()
    from django.conf import settings

    from bench.fanout import choose_publisher
    from bench.publish import ApiPublisher, EmitPublisher, FloorPublisher, sample_data

    harness.prepare_database()
    path, why = choose_publisher(args.path)
    if path == "emit" and not settings.REDIS_URL:
        return harness.not_available(NAME, f"{why}; and the emit stand-in needs REDIS_URL", args)
    kind, layer = harness.parse_config(args.config)
    layer = harness.layer_for(layer)
    processes = args.processes if settings.REDIS_URL else 1
    repeat = harness.repeat_count(args)
    harness.set_active_population(args.clients)
    people = harness.ensure_users(args.clients)
    headers = harness.cookie_headers(harness.make_sessions(people))
    print(f"burst: {args.count} announcements to {args.clients} clients, {processes}x "
          f"{kind}/{layer}, publishing through {path}" + (f" ({why})" if why else ""))

    rows = []
    last_data = None
    with harness.LoadClient() as client:
        for specs, name in (([(kind, layer)] * processes, "ours"), ([("floor", "-")], "floor")):
            runs = []
            try:
                with harness.deployed(specs, headers, client) as deployment:
                    if name == "floor":
                        publisher: Any = FloorPublisher(deployment.servers[0].url,
                                                        last_data or sample_data(""))
                    elif path == "api":
                        publisher = ApiPublisher(deployment.servers[0].url)
                    else:
                        publisher = EmitPublisher()
                    publisher.publish(f"bench-warmup-{uuid.uuid4().hex[:8]}")  # not measured
                    for _ in range(repeat):
                        runs.append(one_burst(client, deployment, publisher, args.count,
                                              args.concurrency))
                    last_data = getattr(publisher, "last_data", None) or last_data
                    if name == "floor":
                        publisher.close()
                    summary = deployment.summary()
                    # What the events left behind in the servers (per-connection state).
                    rss_after = sum(server.rss_kib() for server in deployment.servers)
                    summary["kib_per_connection_after_bursts"] = round(
                        (rss_after - summary["rss_idle_kib"]) / max(1, deployment.connected), 1)
            except Exception as exc:
                rows.append({"name": name, "error": f"{type(exc).__name__}: {exc}"})
                continue
            rows.append({
                "name": name,
                **summary,
                "runs": runs,
                "deliveries_per_s": median([r["deliveries_per_s"] for r in runs]),
                "gateway_deliveries_per_s": median([r["gateway_deliveries_per_s"] for r in runs]),
                "publish_per_s": median([r["publish_per_s"] for r in runs]),
                "p50_ms": median([r["latency"]["p50_ms"] for r in runs]),
                "p99_ms": median([r["latency"]["p99_ms"] for r in runs]),
                "max_ms": median([r["latency"]["max_ms"] for r in runs]),
                "delivered": sum(r["ok"] for r in runs),
                "expected": sum(r["expected"] for r in runs),
                "duplicates": sum(r["duplicates"] for r in runs),
                "bad": sum(r["bad"] for r in runs),
                "cpu_s": {part: median([r["cpu_s"][part] for r in runs])
                          for part in runs[0]["cpu_s"]} if runs else {},
            })
    lines = []
    for row in rows:
        if "error" in row:
            lines.append([row["name"], "ERROR: " + row["error"][:80], *[None] * 8])
            continue
        lines.append([
            f"{row['processes']}x {row['servers'][0]}", row["connected"], row["publish_per_s"],
            row["deliveries_per_s"], row["gateway_deliveries_per_s"], row["p50_ms"],
            row["p99_ms"], row["max_ms"], f"{row['delivered']}/{row['expected']}",
            row["duplicates"] + row["bad"] or None,
        ])
    print()
    print(table(["server", "clients", "publish/s", "deliveries/s", "gateway deliv/s",
                 "p50 ms", "p99 ms", "max ms", "verified", "dup+bad"], lines))
    cpu_lines = [[f"{row['processes']}x {row['servers'][0]}",
                  *(row["cpu_s"].get(part) for part in CPU_PARTS)]
                 for row in rows if "error" not in row and row.get("cpu_s")]
    print()
    print("CPU seconds per burst (median), while it ran:")
    print(table(["server", *CPU_PARTS], cpu_lines))
    result = {"publish_path": path, "publish_path_note": why, "count": args.count,
              "clients": args.clients, "concurrency": args.concurrency, "repeat": repeat,
              "rows": rows}
    harness.write_result(NAME, result, args)
    return result


if __name__ == "__main__":
    run()
