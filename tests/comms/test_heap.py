"""The ASGI server's start-up heap is frozen out of the collector's full passes (realtime/heap.py):
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


CONNECTIONS_PROBE = """
import gc, weakref
from realtime import heap

class Connection:  # a connection's objects, with a cycle as a consumer and its task make
    def __init__(self):
        self.me = self

heap.COLLECT_AFTER_CLOSED = 3
gc.collect()
opened = Connection()
heap.connection_ready()
frozen = gc.get_freeze_count()
alive = weakref.ref(opened)
del opened  # closed: only the cycle keeps it
gc.collect()
survived_full_pass = alive() is not None  # frozen: full passes skip it
heap.connection_closed()
heap.connection_closed()
kept_after_two = alive() is not None
heap.connection_closed()  # the third close collects the frozen heap once
print(frozen > 0, survived_full_pass, kept_after_two, alive() is None,
      gc.get_freeze_count() > 0)
"""


def test_connections_are_frozen_when_set_up_and_their_cycles_reclaimed_after_closes():
    # A full pass over 2,500 connections' objects stopped a server's event loop for 0.4 s;
    # frozen, they are skipped — and what closed connections leave in cycles is collected
    # once every COLLECT_AFTER_CLOSED closes, then the heap is frozen again.
    result = subprocess.run([sys.executable, "-c", CONNECTIONS_PROBE], cwd=ROOT,
                            env=server_env(), capture_output=True, text=True, timeout=120,
                            check=True)
    assert result.stdout.split() == ["True"] * 5
