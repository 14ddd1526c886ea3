"""Markdown tables of the latest results (bench/results/*-latest.json) against the targets,
for docs/performance.md; with --since, each target over every run since then and its median.

    python -m bench.report [--since 20261129T150230]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from bench.burst import CPU_PARTS
from bench.harness import RESULTS_DIR
from bench.stats import median as median_of


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}-latest.json"
    return json.loads(path.read_text()) if path.exists() else None


def md(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return "—" if value is None else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def fanout(result: dict[str, Any]) -> str:
    rows = result["rows"]
    floors = {row["n"]: row for row in rows if row["servers"] == ["floor"] and "error" not in row}
    out = []
    for row in rows:
        if "error" in row:
            out.append([", ".join(row["servers"]), row["n"], "error: " + row["error"][:60]]
                       + [None] * 11)
            continue
        floor = floors.get(row["n"], {})
        is_floor = row["servers"] == ["floor"]
        ratio = (None if is_floor or not floor.get("p99_ms") or row["p99_ms"] is None
                 else round(row["p99_ms"] / floor["p99_ms"], 1))
        spread = (None if is_floor or not floor.get("spread_ms") or row.get("spread_ms") is None
                  else round(row["spread_ms"] / floor["spread_ms"], 1))
        target = None
        if not is_floor and row["processes"] == 1 and row["n"] == 5000:
            target = row["p99_ms"] is not None and row["p99_ms"] <= 400
        if not is_floor and row["processes"] == 2 and row["n"] == 10000:
            target = row["p99_ms"] is not None and row["p99_ms"] <= 600
        name = (f"{row['processes']}x {row['servers'][0]}" if row["processes"] > 1
                else row["servers"][0])
        first = median_of([run.get("first_ms") for run in row.get("runs", [])])
        out.append([name, row["n"], f"{row['delivered']}/{row['expected']}", row["connect_s"],
                    row["kib_per_connection"], row.get("publish_request_ms"), first,
                    row["p50_ms"],
                    row["p99_ms"], row["max_ms"], row.get("spread_ms"), ratio, spread,
                    verdict(target)])
    return md(["server", "N", "verified", "connect s", "KiB/conn", "publish ms", "first ms",
               "p50 ms", "p99 ms", "max ms", "spread ms", "p99 / floor", "spread / floor",
               "target"], out)


def burst(result: dict[str, Any]) -> str:
    out = []
    for row in result["rows"]:
        if "error" in row:
            out.append([row["name"], "error: " + row["error"][:60]] + [None] * 8)
            continue
        ours = row["name"] == "ours"
        out.append([f"{row['processes']}x {row['servers'][0]}", row["connected"],
                    f"{row['delivered']}/{row['expected']}", row["publish_per_s"],
                    row["deliveries_per_s"], row["gateway_deliveries_per_s"], row["p99_ms"],
                    row.get("kib_per_connection_after_bursts"),
                    verdict(row["deliveries_per_s"] >= 30_000 if ours and row["processes"] == 2
                            and row["deliveries_per_s"] else None)])
    table = md(["server", "clients", "verified", "publish/s", "deliveries/s",
                "deliveries/s (first→last)", "p99 ms", "KiB/conn after", "target ≥ 30,000/s"],
               out)
    cpu = [[f"{row['processes']}x {row['servers'][0]}",
            *(row["cpu_s"].get(part) for part in CPU_PARTS)]
           for row in result["rows"] if row.get("cpu_s")]
    if cpu:
        table += ("\n\nCPU seconds per burst (median of the bursts), while it ran:\n\n"
                  + md(CPU_PARTS_HEADER, cpu))
    return table


#: Headers of the burst's CPU table (its columns: bench.burst.CPU_PARTS).
CPU_PARTS_HEADER = ["server", "wall s", "core-s available", "machine busy", "servers",
                    "load clients", "PostgreSQL", "Redis", "bench process", "other"]


def acks(result: dict[str, Any]) -> str:
    if "rows" not in result:
        return f"not available yet: {result.get('reason')}"
    out = []
    for row in result["rows"]:
        if "status" in row:
            out.append([row["path"], row["status"]] + [None] * 6)
            continue
        target = label = None
        if row["path"] == "ws":
            # The storm measures capacity; its p99 is its own length (bench/acks.py).
            target = bool(row["committed_per_s"] and row["committed_per_s"] >= 2000)
            label = "ws (all at once)"
        elif row["path"] == "ws-paced":
            target = paced_ok(row)
            label = f"ws at {row['offered_per_s']:g}/s offered"
        last = row.get("dashboard_last_push") or {}
        out.append([label or row["path"], f"{row['committed']}/{row['sent']}",
                    row["committed_per_s"],
                    row["latency"]["p50_ms"], row["latency"]["p99_ms"],
                    f"{row.get('dashboard_pushes')} (last shows {last.get('acknowledged')}, "
                    f"{row.get('dashboard_last_push_after_last_ack_ms')} ms after)",
                    row.get("summary_poll", {}).get("p99_ms"), verdict(target)])
    return md(["path", "committed/sent", "acks/s", "p50 ms", "p99 ms", "dashboard pushes",
               "summary GET p99 ms", "target (WS: ≥ 2,000/s; p99 ≤ 250 ms at 2,000/s)"], out)


def paced_ok(row: dict[str, Any]) -> bool:
    """The paced run meets the target: 2,000/s or more offered, every one committed, p99 ≤ 250."""
    return bool((row.get("offered_per_s") or 0) >= 2000 and row["committed"] == row["sent"]
                and row["latency"]["p99_ms"] is not None and row["latency"]["p99_ms"] <= 250)


def audience(result: dict[str, Any]) -> str:
    if "runs" not in result:
        return f"not available yet: {result.get('reason')}"
    out = [[run["receipts"], run.get("receipts_in_table_before", "—"), run["committed_ms"],
            run["first_client_ms"], run["watchers_verified"], run["peak_growth_mib"],
            verdict(run["committed_ms"] <= 5000 and run["peak_growth_mib"] <= 200)]
           for run in result["runs"]]
    return md(["receipts written", "receipts in the table before", "committed ms",
               "first client ms", "watchers verified", "server peak growth MiB",
               "target (≤ 5 s, ≤ 200 MB)"], out)


def pages(result: dict[str, Any]) -> str:
    if "rows" not in result:
        return f"not available yet: {result.get('reason')}"
    counts: dict[str, set] = {}
    for row in result["rows"]:
        if row.get("queries") is not None:
            counts.setdefault(row["page"], set()).add(row["queries"])
    out = []
    for row in result["rows"]:
        if row.get("status") != 200:
            out.append([row["page"], row["case"], row.get("status")] + [None] * 5)
            continue
        same = len(counts.get(row["page"], ())) == 1
        first = row.get("first_byte", {}).get("p99_ms")
        out.append([row["page"], row["case"], row["queries"], row["p50_ms"], row["p99_ms"],
                    first, row.get("bytes"), row.get("memory_growth_mib"),
                    "same" if same else "**differs**", verdict(server_p99(row) <= 100)])
    return (f"{result['announcements']} announcements, {result['receipts']} receipts.\n\n"
            + md(["page", "case", "queries", "p50 ms", "p99 ms", "first byte p99 ms", "bytes",
                  "memory growth MiB", "queries few vs many", "p99 ≤ 100 ms"], out))


def server_p99(row: dict[str, Any]) -> float:
    """The server time a page is judged by: a streamed export's is its first byte."""
    return row.get("first_byte", {}).get("p99_ms") or row["p99_ms"]


@dataclass
class Measure:
    """One target of the issue, measured in one run."""

    target: str
    #: The number the verdict is about (None: not measured, or a condition failed).
    value: float | None
    #: At most (`high=False`) or at least (`high=True`) this.
    limit: float
    text: str
    floor: str | None = None
    high: bool = False

    @property
    def ok(self) -> bool | None:
        return meets(self.value, self.limit, self.high)


def meets(value: float | None, limit: float, high: bool) -> bool:
    if value is None:
        return False
    return value >= limit if high else value <= limit


def measures(results: dict[str, dict[str, Any] | None]) -> list[Measure]:
    """The issue's targets as measured in one result of each benchmark."""
    out: list[Measure] = []
    fan = results.get("fanout")
    if fan and "rows" in fan:
        rows = [row for row in fan["rows"] if "error" not in row]
        floors = {row["n"]: row for row in rows if row["servers"] == ["floor"]}
        ours = [row for row in rows if row["servers"] != ["floor"]]
        for n, processes, limit in ((5000, 1, 400), (10000, 2, 600)):
            label = f"fan-out {n:,}, {processes} process(es): p99 ≤ {limit} ms"
            found = [row for row in ours if row["n"] == n and row["processes"] == processes
                     and row["p99_ms"] is not None]
            if not found:
                out.append(Measure(label, None, limit, "not measured"))
                continue
            best = min(found, key=lambda row: row["p99_ms"])
            floor = floors.get(n, {})
            out.append(Measure(label, best["p99_ms"], limit,
                               f"{best['p99_ms']} ms ({best['servers'][0]}, "
                               f"{best['delivered']}/{best['expected']} verified)",
                               f"{floor.get('p99_ms')} ms"))
            if floor.get("p99_ms"):
                ratio = round(best["p99_ms"] / floor["p99_ms"], 1)
                spread = (round(best["spread_ms"] / floor["spread_ms"], 1)
                          if best.get("spread_ms") and floor.get("spread_ms") else None)
                out.append(Measure(f"within 3x of the floor at {n:,}", ratio, 3,
                                   f"{ratio}x (spread alone: {spread}x)", "1x"))
        idle = [row["kib_per_connection"] for row in ours if row.get("kib_per_connection")]
        floor_idle = [row["kib_per_connection"] for row in floors.values()
                      if row.get("kib_per_connection")]
        if idle:
            # KiB against the target's kB: 50 kB = 48.8 KiB.
            out.append(Measure("memory ≤ 50 KB per idle authenticated connection", max(idle),
                               50 / 1.024, f"{min(idle)} to {max(idle)} KiB",
                               f"{max(floor_idle, default=None)} KiB"))
    bur = results.get("burst")
    if bur and "rows" in bur:
        ours_b = next((row for row in bur["rows"] if row.get("name") == "ours"), None)
        floor_b = next((row for row in bur["rows"] if row.get("name") == "floor"), None)
        if ours_b and "error" not in ours_b:
            out.append(Measure(f"burst ≥ 30,000 deliveries/s on {ours_b['processes']} processes",
                               ours_b["deliveries_per_s"], 30_000,
                               f"{ours_b['deliveries_per_s']}/s ({ours_b['delivered']}/"
                               f"{ours_b['expected']} verified)",
                               f"{(floor_b or {}).get('deliveries_per_s')}/s", high=True))
    aud = results.get("audience")
    if aud and "runs" in aud:
        out.append(Measure(f"large audience ({aud['recipients']:,}): committed ≤ 5 s",
                           aud["committed_ms"], 5000,
                           f"{aud['committed_ms']} ms, first client {aud['first_client_ms']} ms"))
        out.append(Measure("large audience: server memory growth ≤ 200 MB",
                           aud["peak_growth_mib"], 200e6 / 2**20,
                           f"+{aud['peak_growth_mib']} MiB"))
    ack = results.get("acks")
    if ack and "rows" in ack:
        ws = next((row for row in ack["rows"] if row["path"] == "ws" and "status" not in row),
                  None)
        if ws:
            out.append(Measure("acknowledgements ≥ 2,000/s over WebSocket (all clients at once)",
                               ws["committed_per_s"], 2000,
                               f"{ws['committed_per_s']}/s ({ws['committed']}/{ws['sent']} "
                               f"committed; this storm's own p99 {ws['latency']['p99_ms']} ms)",
                               high=True))
        paced = next((row for row in ack["rows"]
                      if row["path"] == "ws-paced" and "status" not in row), None)
        if paced:
            complete = (paced.get("offered_per_s") or 0) >= 2000 and (
                paced["committed"] == paced["sent"])
            out.append(Measure("acknowledgements over WebSocket: p99 ≤ 250 ms at 2,000/s",
                               paced["latency"]["p99_ms"] if complete else None, 250,
                               f"p99 {paced['latency']['p99_ms']} ms at "
                               f"{paced['offered_per_s']:g}/s offered, "
                               f"{paced['committed_per_s']}/s committed "
                               f"({paced['committed']}/{paced['sent']})"))
    pag = results.get("pages")
    if pag and "rows" in pag:
        measured = [row for row in pag["rows"] if row.get("status") == 200]
        if measured:
            worst = max(measured, key=server_p99)
            counts: dict[str, set] = {}
            for row in measured:
                counts.setdefault(row["page"], set()).add(row["queries"])
            differs = sorted(page for page, found in counts.items() if len(found) > 1)
            over = sorted({row["page"] for row in measured if server_p99(row) > 100})
            out.append(Measure("pages: p99 ≤ 100 ms server time", server_p99(worst), 100,
                               f"worst {server_p99(worst)} ms ({worst['page']}, "
                               f"{worst['case']}); over: {', '.join(over) or 'none'}"))
            out.append(Measure("pages: query count independent of data size", len(differs), 0,
                               "differs: " + (", ".join(differs) if differs else "none")))
    return out


def targets() -> str:
    """One line per target of the issue: the result, the floor of the same run, the verdict."""
    found = measures({name: load(name) for name in BENCHMARKS})
    return md(["target", "result", "floor (same run)", "verdict"],
              [[m.target, m.text, m.floor, verdict(m.ok)] for m in found])


def rounds(since: str) -> str:
    """Each target over every run finished since `since` (a results file stamp, e.g.
    20261129T150230), and its median: the targets are judged on medians of at least 3 runs."""
    per_target: dict[str, list[Measure]] = {}
    runs: dict[str, int] = {}
    for name in BENCHMARKS:
        files = sorted(path for path in RESULTS_DIR.glob(f"{name}-2*.json")
                       if path.stem.split("-", 1)[1] >= since)
        runs[name] = len(files)
        for path in files:
            for measure in measures({name: json.loads(path.read_text())}):
                per_target.setdefault(measure.target, []).append(measure)
    out = []
    for target, found in per_target.items():
        values = [m.value for m in found]
        middle = median_of(values) if None not in values else None
        first = found[0]
        out.append([target, len(found),
                    ", ".join("—" if value is None else f"{value:g}" for value in values),
                    middle, verdict(meets(middle, first.limit, first.high))])
    header = ", ".join(f"{name} {count}" for name, count in runs.items())
    return (f"Runs since {since}: {header}.\n\n"
            + md(["target", "runs", "value in each run", "median", "verdict (median)"], out))


BENCHMARKS = ("fanout", "burst", "acks", "audience", "pages")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--since", help="also judge each target on the median of every run "
                        "finished since this results-file stamp (e.g. 20261129T150230)")
    args = parser.parse_args()
    if args.since:
        print("### Targets over runs (medians)\n")
        print(rounds(args.since))
        print()
    print("### Targets (latest run)\n")
    print(targets())
    for name, render in (("fanout", fanout), ("burst", burst), ("acks", acks),
                         ("audience", audience), ("pages", pages)):
        result = load(name)
        print(f"\n### {name}\n")
        if result is None:
            print("no results yet")
            continue
        env = result.get("environment", {})
        print(f"_{result.get('finished_at')}, database {env.get('database')}, "
              f"load average at start {result.get('machine', {}).get('load_average_at_start')}"
              f"{', quick' if env.get('quick') else ''}_\n")
        print(render(result))


if __name__ == "__main__":
    main()
