"""The ASGI server's start-up heap is frozen out of the collector's full passes (comms/heap.py):
a full pass over ~135,000 start-up objects was the pages' p99 (docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import server_env

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import comms.asgi  # what daphne and uvicorn import: `comms.asgi:application`
frozen = gc.get_freeze_count()
views = "announcements.views" in sys.modules
gc.collect()
print(frozen, views, gc.get_freeze_count() == frozen)
"""


def test_the_asgi_process_freezes_its_start_up_heap_with_the_views_loaded():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=server_env(),
                            capture_output=True, text=True, timeout=120, check=True)
    frozen, views_loaded, still_frozen = result.stdout.split()
    # Django, the apps, the URLconf and every view: far more than the interpreter's own.
    assert int(frozen) > 50_000
    assert views_loaded == "True"  # loaded before the freeze, not by the first request
    assert still_frozen == "True"  # a later collection leaves the frozen generation alone
