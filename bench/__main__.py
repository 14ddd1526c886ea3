"""`python -m bench`: every benchmark, one after the other (`make bench`).

    python -m bench [--only fanout,burst,audience,acks,pages]

Sizes come from each benchmark's environment variables (BENCH_QUICK=1 for a run of a few
minutes; see docs/performance.md). A benchmark that fails is reported and the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

ORDER = ["fanout", "burst", "acks", "audience", "pages"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(ORDER))
    args = parser.parse_args()
    failed = []
    started = time.monotonic()
    for name in args.only.split(","):
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            module.run([])
        except Exception:
            traceback.print_exc()
            failed.append(name)
    print(f"\nbench: {time.monotonic() - started:.0f} s; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
