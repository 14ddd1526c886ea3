"""Markdown tables of the latest results (bench/results/*-latest.json) against the targets,
for docs/performance.md.

    python -m bench.report
"""

from __future__ import annotations

import json
from typing import Any

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
    return md(["server", "clients", "verified", "publish/s", "deliveries/s",
               "deliveries/s (first→last)", "p99 ms", "KiB/conn after", "target ≥ 30,000/s"],
              out)


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
    out = [[run["receipts"], run["committed_ms"], run["first_client_ms"],
            run["watchers_verified"], run["peak_growth_mib"],
            verdict(run["committed_ms"] <= 5000 and run["peak_growth_mib"] <= 200)]
           for run in result["runs"]]
    return md(["receipts written", "committed ms", "first client ms", "watchers verified",
               "server peak growth MiB", "target (≤ 5 s, ≤ 200 MB)"], out)


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


def targets() -> str:
    """One line per target of the issue: the result, the floor of the same run, the verdict."""
    out = []
    fan = load("fanout")
    if fan and "rows" in fan:
        rows = [row for row in fan["rows"] if "error" not in row]
        floors = {row["n"]: row for row in rows if row["servers"] == ["floor"]}
        ours = [row for row in rows if row["servers"] != ["floor"]]
        for n, processes, limit in ((5000, 1, 400), (10000, 2, 600)):
            found = [row for row in ours if row["n"] == n and row["processes"] == processes
                     and row["p99_ms"] is not None]
            if not found:
                out.append([f"fan-out {n:,}, {processes} process(es): p99 ≤ {limit} ms",
                            "not measured", None, None])
                continue
            best = min(found, key=lambda row: row["p99_ms"])
            floor = floors.get(n, {})
            out.append([f"fan-out {n:,}, {processes} process(es): p99 ≤ {limit} ms",
                        f"{best['p99_ms']} ms ({best['servers'][0]}, "
                        f"{best['delivered']}/{best['expected']} verified)",
                        f"{floor.get('p99_ms')} ms", verdict(best["p99_ms"] <= limit)])
            if floor.get("p99_ms"):
                ratio = round(best["p99_ms"] / floor["p99_ms"], 1)
                spread = (round(best["spread_ms"] / floor["spread_ms"], 1)
                          if best.get("spread_ms") and floor.get("spread_ms") else None)
                out.append([f"within 3x of the floor at {n:,}",
                            f"{ratio}x (spread alone: {spread}x)", "1x", verdict(ratio <= 3)])
        idle = [row["kib_per_connection"] for row in ours if row.get("kib_per_connection")]
        floor_idle = [row["kib_per_connection"] for row in floors.values()
                      if row.get("kib_per_connection")]
        if idle:
            out.append(["memory ≤ 50 KB per idle authenticated connection",
                        f"{min(idle)} to {max(idle)} KiB", f"{max(floor_idle)} KiB",
                        verdict(max(idle) * 1.024 <= 50)])
    bur = load("burst")
    if bur and "rows" in bur:
        ours_b = next((row for row in bur["rows"] if row.get("name") == "ours"), None)
        floor_b = next((row for row in bur["rows"] if row.get("name") == "floor"), None)
        if ours_b and "error" not in ours_b:
            out.append([f"burst ≥ 30,000 deliveries/s on {ours_b['processes']} processes",
                        f"{ours_b['deliveries_per_s']}/s ({ours_b['delivered']}/"
                        f"{ours_b['expected']} verified)",
                        f"{(floor_b or {}).get('deliveries_per_s')}/s",
                        verdict(ours_b["deliveries_per_s"] >= 30_000)])
    aud = load("audience")
    if aud and "runs" in aud:
        out.append([f"large audience ({aud['recipients']:,}): committed ≤ 5 s, growth ≤ 200 MB",
                    f"{aud['committed_ms']} ms, first client {aud['first_client_ms']} ms, "
                    f"+{aud['peak_growth_mib']} MiB", None,
                    verdict(aud["committed_ms"] <= 5000
                            and aud["peak_growth_mib"] <= 200e6 / 2**20)])
    ack = load("acks")
    if ack and "rows" in ack:
        ws = next((row for row in ack["rows"] if row["path"] == "ws" and "status" not in row),
                  None)
        if ws:
            out.append(["acknowledgements ≥ 2,000/s over WebSocket (all clients at once)",
                        f"{ws['committed_per_s']}/s ({ws['committed']}/{ws['sent']} committed; "
                        f"this storm's own p99 {ws['latency']['p99_ms']} ms)", None,
                        verdict(ws["committed_per_s"] >= 2000)])
        paced = next((row for row in ack["rows"]
                      if row["path"] == "ws-paced" and "status" not in row), None)
        if paced:
            out.append(["acknowledgements over WebSocket: p99 ≤ 250 ms at 2,000/s",
                        f"p99 {paced['latency']['p99_ms']} ms at {paced['offered_per_s']:g}/s "
                        f"offered, {paced['committed_per_s']}/s committed "
                        f"({paced['committed']}/{paced['sent']})", None,
                        verdict(paced_ok(paced))])
    pag = load("pages")
    if pag and "rows" in pag:
        measured = [row for row in pag["rows"] if row.get("status") == 200]
        if measured:
            worst = max(measured, key=server_p99)
            counts: dict[str, set] = {}
            for row in measured:
                counts.setdefault(row["page"], set()).add(row["queries"])
            differs = sorted(page for page, found in counts.items() if len(found) > 1)
            over = sorted({row["page"] for row in measured if server_p99(row) > 100})
            out.append(["pages: p99 ≤ 100 ms server time",
                        f"worst {server_p99(worst)} ms ({worst['page']}, {worst['case']}); over: "
                        f"{', '.join(over) or 'none'}", None, verdict(not over)])
            out.append(["pages: query count independent of data size",
                        "differs: " + (", ".join(differs) if differs else "none"), None,
                        verdict(not differs)])
    return md(["target", "result", "floor (same run)", "verdict"], out)


def main() -> None:
    print("### Targets\n")
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
