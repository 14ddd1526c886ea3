"""Benchmark 3 — large audience: one announcement to the whole province with 300,000
synthetic recipients in the database.

Reported per publication: the time of the publish request (the response comes after the
version, signature, transparency log entry, 300,000 receipts, audit row and event are committed
and the push is sent), the time until the first connected client has the event, the receipts
actually written (counted), and the server process's memory: growth of its peak RSS (VmHWM,
reset before each publication) over its RSS before the request.

The synthetic users are created once (bulk inserts) and kept in the benchmark database; users
beyond those a benchmark needs are marked inactive so that other benchmarks' publications do
not write 300,000 receipts each.

    python -m bench.audience [--recipients 300000] [--watchers 100] [--config auto] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from typing import Any

from bench import harness
from bench.stats import median, table

NAME = "audience"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.audience", description=__doc__)
    parser.add_argument("--recipients", type=int, default=int(os.environ.get(
        "BENCH_AUDIENCE", 30_000 if harness.quick() else 300_000)))
    parser.add_argument("--watchers", type=int, default=100,
                        help="connected clients that must receive the event")
    parser.add_argument("--config", default=os.environ.get("BENCH_CONFIG", "auto"))
    return harness.common_args(parser).parse_args(argv)


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    harness.setup_django()
    from announcements.receipts.models import Receipt
    from bench.publish import ApiPublisher, api_available

    vendor = harness.prepare_database()
    missing = api_available()
    if missing:
        return harness.not_available(NAME, missing, args)
    kind, layer = harness.parse_config(args.config)
    layer = harness.layer_for(layer)
    repeat = harness.repeat_count(args)
    started = time.monotonic()
    people = harness.ensure_users(args.recipients)
    harness.set_active_population(args.recipients)
    population_s = time.monotonic() - started
    headers = harness.cookie_headers(harness.make_sessions(people[:args.watchers]))
    print(f"large audience: {args.recipients} recipients ({vendor}; population ready in "
          f"{population_s:.1f} s), {args.watchers} watching clients, 1x {kind}/{layer}")
    runs = []
    with harness.LoadClient() as client, harness.deployed(
        [(kind, layer)], headers, client
    ) as deployment:
        server = deployment.servers[0]
        publisher = ApiPublisher(server.url)
        for _ in range(repeat):
            marker = f"bench-{uuid.uuid4().hex[:16]}"
            announcement_id = publisher.draft(marker)
            client.call("watch", marker=marker)
            # The publication's cost grows with the receipts already in the table (its
            # indexes): each run records the size it was measured at.
            table_before = Receipt.objects.count()
            server.reset_peak()
            rss_before = server.rss_kib()
            t0, elapsed = publisher.publish_draft(announcement_id)
            expected = publisher.expected_for(announcement_id, marker)
            delivery = client.call("collect", t0=t0, expected=[expected], timeout=60)
            peak = server.peak_rss_kib()
            receipts = Receipt.objects.filter(announcement_id=announcement_id).count()
            runs.append({
                "announcement": announcement_id,
                "committed_ms": round(elapsed * 1000, 1),
                "first_client_ms": delivery["first_ms"],
                "all_watchers_ms": delivery["latency"]["max_ms"],
                "watchers_verified": f"{delivery['ok']}/{delivery['expected']}",
                "receipts": receipts,
                "receipts_in_table_before": table_before,
                "rss_before_mib": round(rss_before / 1024, 1),
                "peak_growth_mib": round((peak - rss_before) / 1024, 1),
                "rss_after_mib": round(server.rss_kib() / 1024, 1),
            })
            print(table(list(runs[-1]), [list(runs[-1].values())]).splitlines()[-1], flush=True)
    harness.set_active_population(0)
    print()
    print(table(list(runs[0]), [list(run.values()) for run in runs]))
    result = {
        "recipients": args.recipients,
        "server": f"{kind}/{layer}",
        "population_s": round(population_s, 1),
        "runs": runs,
        "committed_ms": median([run["committed_ms"] for run in runs]),
        "first_client_ms": median([run["first_client_ms"] for run in runs]),
        "peak_growth_mib": median([run["peak_growth_mib"] for run in runs]),
    }
    harness.write_result(NAME, result, args)
    return result


if __name__ == "__main__":
    run()
