"""Cek keaslian on adversarial input (issue 14, item 3): anonymous pastes of 60,000 characters
shaped to make a pattern backtrack, NFKC reorder, or the diff explode are answered in well
under a second — in the checker itself, and through the real server while /healthz and an open
WebSocket stay responsive.

The issue asks for these timed assertions. The bounds are generous (the machine running the
suite is shared); before the fix the worst shapes took from 20 s to minutes."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.conf import settings

from announcements.verification import cek
from common.errors import ServiceError

from .conftest import VAKSIN_BODY

N = cek.MAX_TEXT
#: Seconds one adversarial check may take (the issue: "well under a second").
BOUND = 1.0


def fill(unit: str, room: int = N) -> str:
    return (unit * (room // len(unit) + 1))[:room]


#: name -> a function of the announcement's code giving the (whole-paste) filler.
SHAPES = {
    "kode_spaces": lambda code: "kode" + " " * N,
    "kode_verifikasi_spaces": lambda code: "kode verifikasi" + " " * N,
    "kode_verifikasi_repeated": lambda code: fill("kode verifikasi "),
    "kode_colon_repeated": lambda code: fill("Kode verifikasi: "),
    "open_brackets": lambda code: "[" * N,
    "link_openers": lambda code: fill("[]("),
    "link_text_openers": lambda code: fill("[a]("),
    "nested_brackets": lambda code: fill("[[]](("),
    "long_line": lambda code: fill("Vaksinasi gratis untuk ASN "),
    "newlines": lambda code: "\n" * N,
    "short_lines": lambda code: fill("a\n"),
    "repeated_codes": lambda code: fill(f"{code}-1 "),
    "repeated_links": lambda code: fill(f"/v/{code}-1 "),
    "list_prefixes": lambda code: fill("- > # 1. "),
    "combining_marks": lambda code: "a" + fill("\u0301\u0316"),
    "tibetan_vowels": lambda code: fill("\u0f73"),
    "ligature_expansion": lambda code: fill("\ufdfa"),
    "body_repeated": lambda code: fill(VAKSIN_BODY + "\n"),
    "alternating_lines": lambda code: fill("1\n2\n1\n1\n2\n2\n"),
}


def paste(shape: str, code: str, *, with_code: bool) -> str:
    """The shape alone (every code pattern scans all of it), or followed by the announcement's
    code line (then the copy is normalised, compared and diffed against a public version)."""
    tail = f"\nKode verifikasi: {code}-1" if with_code else ""
    return SHAPES[shape](code)[: N - len(tail)] + tail


@pytest.mark.django_db
@pytest.mark.parametrize("with_code", [False, True], ids=["no_code", "with_code"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_adversarial_paste_is_checked_in_well_under_a_second(history, shape, with_code):
    code = history["vaksin"].verify_code
    text = paste(shape, code, with_code=with_code)
    assert len(text) <= N
    started = time.perf_counter()
    try:
        result = cek.check_text(text=text)
    except ServiceError as error:  # a clear refusal is an answer too
        result = None
        assert error.code in ("empty", "too_long"), (shape, error.code)
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND, f"{shape}: {elapsed:.2f} s"
    if result is None:
        return
    if with_code:
        assert result.code == code
        # Compared and found altered, or (nothing left but the code line) answered from it.
        assert result.status == cek.Verdict.ALTERED or not result.text_compared, result
    if result.diff is not None:
        changed = [row for row in result.diff if row["op"] != "same"]
        assert len(changed) <= cek.DIFF_MAX_ROWS


def test_every_pattern_on_the_paste_is_linear():
    """The patterns themselves, on shapes aimed at each (no database): at 60,000 characters a
    quadratic one takes seconds to minutes."""
    uses = [  # (pattern, how check.py applies it, shapes aimed at it)
        (cek._LABEL_CODE, "search", ["kode" + " " * N, "kode verifikasi" + " " * N,
                                       fill("kode:"), fill("kode verifikasi \n")]),
        (cek._LINK, "sub", ["[" * N, fill("[]("), fill("[a]("), fill("[](x"), fill("[[]](("),
                              "[" + "a" * N, "[a](" + "b" * N]),
        (cek._LINE_PREFIX, "sub", [" " * N + "x", fill("- "), fill("> "), fill("1. "),
                                     fill("#"), fill(" \n"), fill("1234. ")]),
        (cek._SPACES, "sub", [" " * N, fill(" \n")]),
        (cek._LINK_CODE, "search", [fill("/v/"), fill("/v/ABCDE23456-")]),
        (cek._BARE_CODE, "finditer", [fill("ABCDE23456"), fill("ABCDE23456-1234-")]),
        (cek._ONLY_CODE, "fullmatch", [" " * N + "x", fill("\n"), fill("ABCDE23456 ")]),
        (cek._TOKEN, "findall", [fill("a"), fill("!"), fill("a!")]),
        (cek._TAGS, "sub", ["<" * N, fill("<a")]),
    ]
    for pattern, use, texts in uses:
        for text in texts:
            started = time.perf_counter()
            if use == "sub":
                pattern.sub("", text)
            elif use == "finditer":
                list(pattern.finditer(text))
            else:
                getattr(pattern, use)(text)
            elapsed = time.perf_counter() - started
            # The whole bound, not a fraction: a super-linear pattern takes tens of seconds on
            # 60,000 characters, and a busy CI machine must not fail a linear one (0.1-0.3 s).
            assert elapsed < BOUND, (pattern.pattern, use, text[:20], elapsed)


def test_combining_runs_are_cut_before_nfkc():
    """NFKC's canonical reordering is quadratic in a run of combining marks; a run is cut to
    MAX_NONSTARTERS first (Unicode's stream-safe limit), and real text keeps its marks."""
    assert cek.normalize_line("e\u0301") == "\u00e9"
    assert cek._stream_safe("a" + "\u0301" * 100) == "a" + "\u0301" * cek.MAX_NONSTARTERS
    started = time.perf_counter()
    cek.normalize_line("a" + fill("\u0301\u0316"))
    assert time.perf_counter() - started < BOUND  # quadratic was 14 s


# --- Through the real server -------------------------------------------------------------


def _form_session(url: str) -> tuple[urllib.request.OpenerDirector, str]:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{url}/cek", timeout=10) as response:
        assert response.status == 200
    token = next(c.value for c in jar if c.name == settings.CSRF_COOKIE_NAME)
    return opener, token


def _post(opener, url: str, path: str, text: str, token: str) -> tuple[int, float, bytes]:
    if path == "/cek":
        data = urllib.parse.urlencode({"text": text, "csrfmiddlewaretoken": token}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Referer": f"{url}/cek", "Origin": url}
    else:
        data = json.dumps({"text": text}).encode()
        headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(f"{url}{path}", data=data, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        # A timeout well above the bound: the old code held the process for tens of seconds.
        with opener.open(request, timeout=15) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, time.perf_counter() - started, body


SERVER_SHAPES = ["kode_spaces", "open_brackets", "link_openers", "combining_marks",
                 "alternating_lines"]


@pytest.mark.parametrize("path", ["/cek", "/api/v1/check"])
def test_the_server_answers_adversarial_pastes_and_stays_responsive(asgi_server, ws_connect,
                                                                    history, personas, path):
    code = history["vaksin"].verify_code
    opener, token = _form_session(asgi_server.url)
    # A member's open WebSocket: served by the event loop of the process that checks.
    socket = ws_connect(personas.smg_member)
    for shape in SERVER_SHAPES:
        for with_code in (False, True):
            text = paste(shape, code, with_code=with_code)
            answer: dict = {}

            def post(text=text, answer=answer) -> None:
                answer["result"] = _post(opener, asgi_server.url, path, text, token)

            worker = threading.Thread(target=post)
            worker.start()
            slowest = 0.0
            while worker.is_alive():
                started = time.perf_counter()
                with urllib.request.urlopen(f"{asgi_server.url}/healthz", timeout=15) as health:
                    assert health.status == 200
                assert socket.ping().wait(timeout=15)  # answered by the event loop itself
                slowest = max(slowest, time.perf_counter() - started)
                time.sleep(0.02)
            worker.join()
            status, elapsed, body = answer["result"]
            label = f"{path} {shape} with_code={with_code}"
            # A verdict (200) — or, for the page, the form again with its error.
            assert status == 200, (label, status, body[:300])
            assert elapsed < 2 * BOUND, (label, elapsed)
            assert slowest < 2 * BOUND, (label, slowest)
            if path == "/api/v1/check":
                assert json.loads(body)["status"] in ("tidak_dikenal", "diubah"), label
            else:
                assert b'id="cek-result"' in body, label


def test_the_server_refuses_an_oversized_paste_at_once(asgi_server, history):
    opener, token = _form_session(asgi_server.url)
    for path in ("/cek", "/api/v1/check"):
        status, elapsed, body = _post(opener, asgi_server.url, path, "kode" + " " * (2 * N),
                                      token)
        assert status == 413, (path, body[:300])
        assert b"too_long" in body
        assert elapsed < 2 * BOUND
