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
