"""Logging and error text (issue 14 item 27): credentials never reach the log, each line is
written once, and a client gets our error code and message, never a parser's own words."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.test import Client

SECRET = "cmt_" + "s3cr3t" * 6


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("scheme", ["Token", "Basic", "token"])
def test_a_non_bearer_authorization_header_is_never_logged(caplog, settings, debug, scheme):
    settings.DEBUG = debug
    with caplog.at_level(logging.DEBUG):
        response = Client().get("/api/v1/announcements",
                                headers={"Authorization": f"{scheme} {SECRET}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert SECRET not in caplog.text
    assert "s3cr3t" not in caplog.text


def wait_for_line(server, needle: str, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = server.log_path.read_text(errors="replace")
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_the_server_log_holds_each_warning_once_and_no_credential(start_asgi_server):
    """A real daphne with DEBUG on, as `make run` starts it: its own log file is the capture."""
    server = start_asgi_server(DEBUG="true")
    marker = uuid.uuid4().hex
    for path, headers in ((f"/nope-{marker}", {}),
                          ("/api/v1/announcements", {"Authorization": f"Token {SECRET}"})):
        request = urllib.request.Request(server.url + path, headers=headers)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10)
    text = wait_for_line(server, "Unauthorized: /api/v1/announcements")
    assert text.count(f"Not Found: /nope-{marker}") == 1, text[-2000:]
    assert text.count("Unauthorized: /api/v1/announcements") == 1, text[-2000:]
    assert SECRET not in text


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("body", [
    "{not json",
    '{"text": "tanpa akhir',
    "[" * 100_000,  # "maximum recursion depth exceeded while decoding a JSON array"
    b"\xff\xfe{}",
])
def test_a_body_the_parser_refuses_gets_our_code_and_no_parser_text(settings, debug, body):
    settings.DEBUG = debug
    response = Client().post("/api/v1/check", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": {
        "code": "invalid_json", "message": "Badan permintaan bukan JSON yang sah.", "fields": {},
    }}


@pytest.mark.django_db
def test_the_generic_message_is_in_the_readers_language():
    response = Client().post("/api/v1/check", "{", content_type="application/json",
                             headers={"Accept-Language": "en"})
    assert response.json()["error"]["message"] == "The request body is not valid JSON."
    typed = Client().post("/api/v1/check", json.dumps({"text": "x"}), content_type="text/plain",
                          headers={"Accept-Language": "en"})
    assert typed.status_code == 415
    assert typed.json()["error"]["message"] == (
        "The request body must be of type application/json.")
