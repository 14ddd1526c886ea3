"""bench.report judges each target on the median of the runs since a stamp (the issue asks for
medians of at least 3 runs), from the result files the benchmarks write."""

from __future__ import annotations

import json

from bench import report


def acks_result(storm_per_s: float, paced_p99: float, committed: int = 5000) -> dict:
    return {"rows": [
        {"path": "ws", "sent": 5000, "committed": 5000, "committed_per_s": storm_per_s,
         "latency": {"p99_ms": 1000.0}},
        {"path": "ws-paced", "sent": 5000, "committed": committed, "committed_per_s": 1950.0,
         "offered_per_s": 2000, "latency": {"p99_ms": paced_p99}},
    ]}


def burst_result(per_s: int) -> dict:
    return {"rows": [{"name": "ours", "processes": 2, "deliveries_per_s": per_s,
                      "delivered": 100_000, "expected": 100_000}]}


def test_rounds_judge_the_median_of_the_runs_since_the_stamp(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    files = {
        "acks-20261129T100000Z": acks_result(9000, 10),  # before the stamp: left out
        "acks-20261129T150300Z": acks_result(1500, 300),
        "acks-20261129T150900Z": acks_result(2500, 100),
        "acks-20261129T151500Z": acks_result(2600, 200),
        "acks-latest": acks_result(1, 1),  # a copy of the newest, never counted twice
        "burst-20261129T150400Z": burst_result(10_000),
        "burst-20261129T151000Z": burst_result(40_000),
        "burst-20261129T151600Z": burst_result(20_000),
    }
    for name, content in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(content))
    table = report.rounds("20261129T150230")
    lines = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    assert "acks 3" in table and "burst 3" in table
    storm = lines["acknowledgements ≥ 2,000/s over WebSocket (all clients at once)"]
    assert "1500, 2500, 2600 | 2500" in storm and storm.endswith("| met |")
    paced = lines["acknowledgements over WebSocket: p99 ≤ 250 ms at 2,000/s"]
    assert "300, 100, 200 | 200" in paced and paced.endswith("| met |")
    burst = lines["burst ≥ 30,000 deliveries/s on 2 processes"]
    assert "10000, 40000, 20000 | 20000" in burst and burst.endswith("| **missed** |")


def test_a_paced_run_that_lost_an_acknowledgement_fails_whatever_its_latency():
    found = {m.target: m for m in report.measures({"acks": acks_result(2500, 50, 4999)})}
    paced = found["acknowledgements over WebSocket: p99 ≤ 250 ms at 2,000/s"]
    assert paced.value is None and paced.ok is False
