"""The server process's heap after start-up, kept out of the garbage collector's full passes.

CPython's full (generation 2) collection walks every tracked object of the process; after
Django has loaded its apps, URLconf and views that is ~135,000 objects (modules, functions,
classes), which live as long as the process and are never garbage. On the 2-core machine of
docs/performance.md such a pass took 70 to 110 ms, and one ran every few dozen requests, in
whichever request happened to allocate at that moment: it was the p99 of the pages benchmark
(an announcement page of 35 ms answered in 150 ms). Frozen, a full pass walks only what
requests created since: ~7 ms.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Load what the first request would (the URLconf imports every view module), collect the
    start-up garbage, and move all that survives to the collector's permanent generation.

    Call once, at the end of a server process's start-up. Objects frozen are never collected:
    only what a process keeps for its whole life belongs there, hence the collection first.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the import is the point)
    gc.collect()
    gc.freeze()


#: Connections closed since the frozen heap was last collected (see connection_closed).
_closed_since_collect = 0
#: Closed connections after which the frozen heap is collected once.
COLLECT_AFTER_CLOSED = 1000


def connection_ready() -> None:
    """A WebSocket connection is set up: freeze the heap again, its objects with it.

    A connection keeps ~160 tracked objects (protocol, consumer, scope, viewer, tasks) for as
    long as it is open; at 2,500 connections a process's full collection walked 400,000 objects
    and stopped the event loop for 0.4 to 0.5 s — twice in the 2.5 s of the acknowledgement
    benchmark, every answer of those moments late by as much (docs/performance.md, "Pauses
    of the garbage collector"). Frozen, full passes walk only what was created since.
    `gc.freeze()` moves the generation lists into the permanent one: O(1), whatever the heap.
    """
    gc.freeze()


def connection_closed() -> None:
    """A connection ended. Its objects are freed by reference counting; a cycle among them
    (a task and its owner) would stay frozen, so after COLLECT_AFTER_CLOSED closes the whole
    heap is collected once, and frozen again."""
    global _closed_since_collect
    _closed_since_collect += 1
    if _closed_since_collect >= COLLECT_AFTER_CLOSED:
        _closed_since_collect = 0
        gc.unfreeze()
        gc.collect()
        gc.freeze()
