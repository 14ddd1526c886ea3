"""Benchmark 1 — fan-out: one announcement to N connected, authenticated clients.

For each N and each server configuration (daphne or uvicorn; RedisChannelLayer or
RedisPubSubChannelLayer; one process, then two processes of the fastest behind the same Redis)
it measures connect time, server memory per idle connection, and the time from the publish
request to each client's receipt (p50/p99/max, median of --repeat publications on the same
connections), every delivery verified (event id, type and data). In the same run, the bare
`websockets` server broadcasts the same frame to the same N clients from the same load client:
the floor, and ours / floor.

    python -m bench.fanout [--sizes 1000,5000,10000] [--servers daphne,uvicorn]
                           [--layers core,pubsub] [--pair auto|uvicorn/pubsub|none]
                           [--path auto|api|emit] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench import harness
from bench.stats import median, table

NAME = "fanout"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_sizes = "500" if harness.quick() else "1000,5000,10000"
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--sizes", default=os.environ.get("BENCH_FANOUT_SIZES", default_sizes))
    parser.add_argument("--servers", default=os.environ.get("BENCH_SERVERS", "daphne,uvicorn"))
    parser.add_argument("--layers", default=os.environ.get("BENCH_LAYERS", "core,pubsub"))
    parser.add_argument("--pair", default=os.environ.get("BENCH_PAIR", "auto"),
                        help="kind/layer to run as two processes; auto = fastest single; none")
    parser.add_argument("--single-max", type=int,
                        default=int(os.environ.get("BENCH_SINGLE_MAX", 5_000)),
                        help="largest N run on single processes (larger N only on the pair; "
                        "the targets are 5,000 on one process and 10,000 on two)")
    parser.add_argument("--large-singles", default=os.environ.get("BENCH_LARGE_SINGLES", ""),
                        help="single-process configurations run above N=1000, e.g. "
                        "uvicorn/pubsub,daphne/pubsub (default: all of --servers x --layers)")
    parser.add_argument("--path", choices=["auto", "api", "emit"],
                        default=os.environ.get("BENCH_PUBLISH_PATH", "auto"))
    return harness.common_args(parser).parse_args(argv)


def choose_publisher(path: str) -> tuple[str, str | None]:
    """('api'|'emit', why-not-api)."""
    from bench.publish import api_available

    missing = api_available()
    if path == "api" and missing:
        raise SystemExit(f"--path api: {missing}")
    if path == "emit" or missing:
        return "emit", missing
    return "api", None


def measure(
    specs: list[tuple[str, str]],
    n: int,
    session_keys: list[str],
    client: harness.LoadClient,
    make_publisher: Callable[[list[harness.Server]], Any],
    repeat: int,
) -> dict[str, Any]:
    """Start the servers, connect N clients, publish `repeat` times, verify, stop."""
    deployment = None
    headers = harness.cookie_headers(session_keys[:n])
    try:
        with harness.deployed(specs, headers, client) as deployment:
            publisher = make_publisher(deployment.servers)
            # One publication first, not measured: a running server is warm (imports, pools,
            # the signing key and the Redis connection of the push are made on first use).
            publisher.publish(f"bench-warmup-{uuid.uuid4().hex[:8]}")
            time.sleep(0.5)
            runs = []
            for _ in range(repeat):
                marker = f"bench-{uuid.uuid4().hex[:16]}"
                client.call("watch", marker=marker)
                t0, expected = publisher.publish(marker)
                run = client.call("collect", t0=t0, expected=[expected],
                                  timeout=max(30.0, n / 200))
                run["publish_request_ms"] = getattr(publisher, "last_request_ms", None)
                runs.append(run)
                time.sleep(0.5)
            if hasattr(publisher, "close"):
                publisher.close()
            return {
                **deployment.summary(),
                "n": n,
                "runs": runs,
                "p50_ms": median([run["latency"]["p50_ms"] for run in runs]),
                "p99_ms": median([run["latency"]["p99_ms"] for run in runs]),
                "max_ms": median([run["latency"]["max_ms"] for run in runs]),
                # Last minus first delivery: the fan-out itself, without the publication.
                "spread_ms": median([
                    run["latency"]["max_ms"] - run["first_ms"] for run in runs
                    if run["latency"]["max_ms"] is not None and run["first_ms"] is not None
                ]),
                "publish_request_ms": median([run["publish_request_ms"] for run in runs]),
                "delivered": sum(run["ok"] for run in runs),
                "expected": sum(run["expected"] for run in runs),
                "missing": sum(run["missing"] for run in runs),
                "bad": sum(run["bad"] for run in runs),
            }
    except Exception as exc:  # one failing configuration must not hide the others' numbers
        servers = deployment.servers if deployment else []
        return {"servers": [s.label for s in servers] or [f"{k}/{v}" for k, v in specs],
                "processes": len(specs), "n": n, "error": f"{type(exc).__name__}: {exc}",
                "server_logs": {s.label: s.log_tail(8) for s in servers}}


def ratio(ours: float | None, floor: float | None) -> float | None:
    if ours is None or not floor:
        return None
    return round(ours / floor, 1)


def label(row: dict[str, Any]) -> str:
    servers = row["servers"]
    return f"{len(servers)}x {servers[0]}" if len(servers) > 1 else servers[0]


def report(rows: list[dict[str, Any]]) -> str:
    floors = {row["n"]: row for row in rows if row["servers"] == ["floor"] and "error" not in row}
    lines = []
    for row in rows:
        floor = floors.get(row["n"], {})
        if "error" in row:
            lines.append([label(row), row["n"], "ERROR: " + row["error"][:70], *[None] * 12])
            continue
        lines.append([
            label(row), row["n"], f"{row['connected']}/{row['ready']}", row["connect_s"],
            row["kib_per_connection"], row.get("publish_request_ms"), row["p50_ms"],
            row["p99_ms"], row["max_ms"], row.get("spread_ms"),
            f"{row['delivered']}/{row['expected']}",
            None if row["servers"] == ["floor"] else ratio(row["p99_ms"], floor.get("p99_ms")),
            None if row["servers"] == ["floor"] else ratio(row["max_ms"], floor.get("max_ms")),
            None if row["servers"] == ["floor"] else ratio(row.get("spread_ms"),
                                                             floor.get("spread_ms")),
            row["bad"] or None,
        ])
    return table(["server", "N", "conn/ready", "connect s", "KiB/conn", "publish ms", "p50 ms",
                  "p99 ms", "max ms", "spread ms", "verified", "p99/floor", "max/floor",
                  "spread/floor", "bad"], lines)


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    harness.setup_django()
    from django.conf import settings

    from bench.publish import ApiPublisher, EmitPublisher, FloorPublisher, sample_data

    vendor = harness.prepare_database()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    repeat = harness.repeat_count(args)
    path, why = choose_publisher(args.path)
    layers = args.layers.split(",") if settings.REDIS_URL else ["memory"]
    harness.set_active_population(max(sizes))
    if path == "emit" and not settings.REDIS_URL:
        # emit() in this process reaches the servers only through Redis.
        return harness.not_available(NAME, f"{why}; and the emit stand-in needs REDIS_URL", args)
    print(f"fan-out: sizes {sizes}, {repeat} publication(s) each, database {vendor}, "
          f"layers {layers}, publishing through {path}" + (f" ({why})" if why else ""))

    people = harness.ensure_users(max(sizes))
    session_keys = harness.make_sessions(people)

    def ours(servers: list[harness.Server]) -> Any:
        publisher = ApiPublisher(servers[0].url) if path == "api" else EmitPublisher()
        publishers.append(publisher)
        return publisher

    def floor(servers: list[harness.Server]) -> Any:
        last = next((p.last_data for p in reversed(publishers) if p.last_data), None)
        return FloorPublisher(servers[0].url, last or sample_data(""))

    publishers: list[Any] = []
    singles = [(kind, layer) for kind in args.servers.split(",") for layer in layers]
    large_singles = singles
    if args.large_singles and settings.REDIS_URL:
        large_singles = [harness.parse_config(text) for text in args.large_singles.split(",")]
    rows: list[dict[str, Any]] = []
    with harness.LoadClient() as client:
        for n in sizes:
            # "An announcement addressed to all of them": exactly the N connected people are
            # members of the province, so a publication to 1,000 clients writes 1,000
            # receipts, not one per person the largest size needed (10,001 before).
            harness.set_active_population(n)
            size_rows = []
            if n <= args.single_max:
                for spec in large_singles if n > 1000 else singles:
                    size_rows.append(measure([spec], n, session_keys, client, ours, repeat))
                    print(report(size_rows[-1:]).splitlines()[-1], flush=True)
            pair = choose_pair(args.pair, rows + size_rows, singles, layers)
            if pair is not None:
                size_rows.append(measure([pair, pair], n, session_keys, client, ours, repeat))
                print(report(size_rows[-1:]).splitlines()[-1], flush=True)
            size_rows.append(measure([("floor", "-")], n, session_keys, client, floor, repeat))
            print(report(size_rows[-1:]).splitlines()[-1], flush=True)
            rows += size_rows
    print()
    print(report(rows))
    result = {"publish_path": path, "publish_path_note": why, "repeat": repeat, "rows": rows}
    harness.write_result(NAME, result, args)
    return result


def choose_pair(choice: str, rows: list[dict[str, Any]], singles: list[tuple[str, str]],
                layers: list[str]) -> tuple[str, str] | None:
    """The configuration run as two processes: given, or the single one with the lowest p99
    at the largest N measured so far. None without Redis (processes cannot share a layer)."""
    if choice == "none" or layers == ["memory"]:
        return None
    if choice != "auto":
        kind, _, layer = choice.partition("/")
        return kind, layer
    measured = [row for row in rows if row.get("processes") == 1 and row.get("p99_ms")
                and row.get("missing") == 0 and row["servers"] != ["floor"]]
    if not measured:
        return singles[-1] if singles else None
    largest = max(row["n"] for row in measured)
    best = min((row for row in measured if row["n"] == largest), key=lambda row: row["p99_ms"])
    kind, _, layer = best["servers"][0].partition("/")
    return kind, layer


if __name__ == "__main__":
    run()
