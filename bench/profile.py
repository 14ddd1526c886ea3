"""Summarise a py-spy raw (collapsed stacks) profile: where the samples are, by function.

    python -m bench.profile VAR_DIR/profiles/FILE.txt [--top 30] [--match consumers.py]

Prints the functions with the most samples *inclusive* (the function or anything it calls)
and *self* (the function itself), as shares of all samples: enough to name a cause with a
number. For a picture, py-spy writes flamegraphs and speedscope files too (--format).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only frames containing this text")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in args.path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}:")
        shown = 0
        for frame, count in counter.most_common():
            if args.match and args.match not in frame:
                continue
            print(f"{100 * count / total:6.1f}%  {frame[:150]}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
