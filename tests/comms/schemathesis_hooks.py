"""Schemathesis hooks of the API robustness run (tests/comms/test_schemathesis.py).

One hook: `filter_failure`, which sets aside failures of a few named, known classes — and only
those — so that the run fails on anything new. Every failure set aside is written, one JSON
line each, to the file named by SCHEMATHESIS_KNOWN_LOG, and the test prints them.

Loaded by schemathesis (SCHEMATHESIS_HOOKS=tests.comms.schemathesis_hooks), not by pytest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import schemathesis


@dataclass(frozen=True)
class KnownClass:
    name: str
    why: str
    matches: Callable[[Any, Any], bool]


#: Failure classes that other work fixes, set aside by name while it lands. Empty: every
#: class the run found in issue 14 (NUL bytes, integers beyond bigint, year-10000 dates) is
#: fixed, and the run must pass without exclusions.
KNOWN_ELSEWHERE: list[KnownClass] = []

_ATTACHMENTS = "POST /api/v1/announcements/{announcement_id}/attachments"

#: Not the application's answer: daphne's HTTP layer (twisted.web's Request.requestReceived)
#: parses every multipart POST itself and answers one it cannot parse (no parts, a broken
#: boundary) with a bare `400 Bad Request`, no body and no Content-Type, before Django runs.
#: It is not a 5xx and nothing of it reaches the application; fixing it belongs to the server.
NOT_THE_APPLICATION: list[KnownClass] = [
    KnownClass(
        "twisted-multipart-400",
        "daphne/twisted answers an unparseable multipart body with an empty 400",
        lambda case, response: case.operation.label == _ATTACHMENTS
        and response.status_code == 400 and not response.content
        and "content-type" not in response.headers,
    ),
]


def _log(known: KnownClass, failure: Any, case: Any, response: Any) -> None:
    path = os.environ.get("SCHEMATHESIS_KNOWN_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps({
            "class": known.name, "operation": case.operation.label,
            "failure": type(failure).__name__, "status": response.status_code,
            "body": response.content[:200].decode("utf-8", "replace"),
            "curl": case.as_curl_command(),
        }) + "\n")


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    for known in (*KNOWN_ELSEWHERE, *NOT_THE_APPLICATION):
        if known.matches(case, response):
            _log(known, failure, case, response)
            return False
    return True
