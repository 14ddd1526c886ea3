"""Benchmark 4 — acknowledgements: N clients acknowledge one announcement as fast as they can,
over the WebSocket (`{"type":"ack","announcement":id,"version":n}`), then — on another
announcement — over the WebSocket again at an offered rate (`--rate`, default 2,000 a second,
the target's: the i-th client sends at i/rate), then over HTTP
(`POST /api/v1/announcements/{id}/ack` with a bearer token), while the issuer's dashboard is
watched.

Why two WebSocket runs: when every client sends at the same instant ("ws"), the last answer
waits for the whole storm, so its p99 is the storm's length (N ÷ throughput) whatever the
server does per acknowledgement; it measures capacity. The latency an acknowledgement sees at
a given load is measured by offering that load ("ws at 2000/s").

Reported: acknowledgements per second (from the first frame sent to the last answer), answer
latency p50/p99, and the number actually committed (counted in the database afterwards — an
answer that committed nothing does not count). "Dashboard live": the issuer holds a WebSocket
subscribed to the announcement's statistics (`{"type":"subscribe","stats":id}`) and, when the
endpoint exists, the bench polls `GET …/receipts/summary` every 200 ms during the storm: the
count of `receipt.summary` pushes, the delay of the last one after the last acknowledgement,
the acknowledged count it shows, and the poll latencies.

    python -m bench.acks [--clients 5000] [--config auto] [--processes 2] [--rate 2000]
                         [--http-concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import uuid
from typing import Any

from bench import harness
from bench.stats import summary_ms, table

NAME = "acks"
SUMMARY_EVENT = '"receipt.summary"'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.acks", description=__doc__)
    parser.add_argument("--clients", type=int, default=int(
        os.environ.get("BENCH_ACK_CLIENTS", 500 if harness.quick() else 5000)))
    parser.add_argument("--config", default=os.environ.get("BENCH_CONFIG", "auto"))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BENCH_ACK_RATE", 2000)),
                        help="offered acknowledgements a second of the paced WebSocket run "
                        "(0: no paced run)")
    parser.add_argument("--paths", default="ws,ws-paced,http",
                        help="runs to make, of ws (all at once), ws-paced, http")
    parser.add_argument("--http-concurrency", type=int, default=16,
                        help="parallel HTTP connections (each busy request holds a database "
                        "connection: PostgreSQL allows 100 by default)")
    return harness.common_args(parser).parse_args(argv)


def availability() -> dict[str, str | None]:
    """Why each path is not available yet (None: available)."""
    from django.urls import Resolver404, resolve

    from bench.publish import api_available
    from realtime.gateway import get_action

    missing = {"ws": None, "http": None, "summary": None}
    publishing = api_available()
    if get_action("ack") is None:
        missing["ws"] = "the gateway has no `ack` action yet"
    for key, path, what in (("http", "/api/v1/announcements/1/ack", "POST …/ack"),
                            ("summary", "/api/v1/announcements/1/receipts/summary",
                             "GET …/receipts/summary")):
        try:
            resolve(path)
        except Resolver404:
            missing[key] = f"{what} does not exist yet"
    if publishing:
        missing = {key: value or publishing for key, value in missing.items()}
    return missing


class SummaryPoller(threading.Thread):
    """Polls the issuer's summary endpoint while acknowledgements arrive."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.durations: list[float] = []
        self.statuses: dict[int, int] = {}
        self.last_body: Any = None
        self.halt = threading.Event()

    def run(self) -> None:
        from bench.publish import http_json

        while not self.halt.is_set():
            started = time.monotonic()
            status, body = http_json("GET", self.url, self.token, timeout=30)
            self.durations.append(time.monotonic() - started)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.last_body = body
            self.halt.wait(0.2)


def acknowledged(announcement_id: int) -> int:
    from announcements.receipts.models import Receipt

    return Receipt.objects.filter(announcement_id=announcement_id,
                                  acknowledged_at__isnull=False).count()


def storm(kind: str, announcement_id: int, client: harness.LoadClient,
          watcher: harness.LoadClient | None, deployment: harness.Deployment,
          tokens: list[str], issuer_token: str, summary_url: str | None,
          http_concurrency: int, rate: float | None = None) -> dict[str, Any]:
    if watcher is not None:
        watcher.call("watch", marker=SUMMARY_EVENT)
        watcher.call("send", frames=[json.dumps({"type": "subscribe", "stats": announcement_id})],
                     reply_markers=['"subscribed"', '"error"', SUMMARY_EVENT], timeout=10)
    poller = None
    if summary_url:
        poller = SummaryPoller(summary_url.format(id=announcement_id), issuer_token)
        poller.start()
    t0 = time.monotonic()
    if kind.startswith("ws"):
        frame = json.dumps({"type": "ack", "announcement": announcement_id, "version": 1})
        result = client.call("send", frames=[frame] * deployment.connected,
                             reply_markers=['"ack', '"error"'], timeout=120,
                             rate=rate if kind == "ws-paced" else None)
    else:
        body = json.dumps({"version": 1})
        requests = [["POST", f"/api/v1/announcements/{announcement_id}/ack",
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                     body] for token in tokens]
        result = client.call("http", host="127.0.0.1",
                             ports=[server.port for server in deployment.servers],
                             requests=requests, concurrency=http_concurrency, timeout=300)
    finished = time.monotonic()
    time.sleep(4)  # the throttled last dashboard push: interval + the task worker's poll
    if poller is not None:
        poller.halt.set()
        poller.join()
    committed = acknowledged(announcement_id)
    elapsed = result.get("elapsed_s")
    row: dict[str, Any] = {
        "path": kind,
        "offered_per_s": rate if kind == "ws-paced" else None,
        "sent": result.get("sent", result.get("requests")),
        "answered": result.get("answered", result.get("requests")),
        "committed": committed,
        "elapsed_s": elapsed,
        "committed_per_s": round(committed / elapsed, 1) if elapsed else None,
        "latency": result["latency"],
        "answers": result.get("replies", result.get("statuses")),
    }
    if watcher is not None:
        frames = watcher.call("dump")["frames"][0]
        row["dashboard_pushes"] = len(frames)
        if frames:
            last_at, last_text = frames[-1]
            row["dashboard_last_push_after_last_ack_ms"] = round((last_at - finished) * 1000, 1)
            row["dashboard_last_push"] = json.loads(last_text).get("data")
    if poller is not None:
        row["summary_poll"] = {"count": len(poller.durations), "statuses": poller.statuses,
                               **summary_ms(poller.durations), "last": poller.last_body}
    row["t0_to_finish_s"] = round(finished - t0, 3)
    return row


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    harness.setup_django()
    from django.conf import settings

    from bench.publish import ApiPublisher

    harness.prepare_database()
    missing = availability()
    if missing["ws"] and missing["http"]:
        return harness.not_available(NAME, f"{missing['ws']}; {missing['http']}", args)
    kind, layer = harness.parse_config(args.config)
    layer = harness.layer_for(layer)
    processes = args.processes if settings.REDIS_URL else 1
    harness.set_active_population(args.clients)
    people = harness.ensure_users(args.clients)
    headers = harness.cookie_headers(harness.make_sessions(people))
    tokens = harness.make_tokens(people, ["read", "write"])
    print(f"acknowledgements: {args.clients} clients, {processes}x {kind}/{layer}")
    rows = []
    # The issuer's one watching connection needs one client process.
    with harness.LoadClient() as client, harness.LoadClient(processes=1) as watcher, \
            harness.deployed([(kind, layer)] * processes, headers, client,
                             worker=True) as deployment:
        publisher = ApiPublisher(deployment.servers[0].url)
        watcher.call("connect", targets=[[deployment.servers[-1].ws_url,
                                          {"Authorization": f"Bearer {publisher.token}"}]],
                     origin=deployment.servers[0].url)
        summary_url = (None if missing["summary"] else
                       deployment.servers[0].url + "/api/v1/announcements/{id}/receipts/summary")
        paths = [path for path in args.paths.split(",")
                 if path in {"ws", "ws-paced", "http"} and (args.rate or path != "ws-paced")]
        for path in paths:
            why = missing[path.split("-")[0]]
            if why:
                rows.append({"path": path, "status": "not available yet", "reason": why})
                continue
            announcement_id = publisher.draft(f"bench-ack-{uuid.uuid4().hex[:12]}",
                                              requires_ack=True)
            publisher.publish_draft(announcement_id)
            rows.append(storm(path, announcement_id, client, watcher, deployment, tokens,
                              publisher.token, summary_url, args.http_concurrency, args.rate))
        deployment_summary = deployment.summary()
    lines = []
    for row in rows:
        if "status" in row:
            lines.append([row["path"], "not available yet: " + row["reason"], *[None] * 5])
            continue
        label = (f"ws at {row['offered_per_s']:g}/s" if row["path"] == "ws-paced"
                 else row["path"])
        lines.append([label, f"{row['committed']}/{row['sent']}", row["committed_per_s"],
                      row["latency"]["p50_ms"], row["latency"]["p99_ms"],
                      row.get("dashboard_pushes"),
                      row.get("summary_poll", {}).get("p99_ms")])
    print()
    print(table(["path", "committed/sent", "acks/s", "p50 ms", "p99 ms", "dashboard pushes",
                 "summary GET p99 ms"], lines))
    result = {"clients": args.clients, "deployment": deployment_summary, "rows": rows}
    harness.write_result(NAME, result, args)
    return result


if __name__ == "__main__":
    run()
