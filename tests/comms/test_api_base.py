"""The API's frame: the OpenAPI document, and errors that are always JSON with a code.

Errors that ninja's own handlers never see (the URL resolver's 404 for a non-integer id, the
405 of a path without that method, a 500) come out in the same format as the others.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import Client

from accounts.tokens import token_create
from announcements.signing.models import SigningKey


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.django_db
def test_openapi_schema_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_a_non_integer_id_is_a_json_404(client):
    # The URL resolver refuses these before ninja runs (`{int:…}` path converters).
    for path in ("/api/v1/channels/abc", "/api/v1/threads/1.5/messages",
                 "/api/v1/channels/-1/threads", "/api/v1/no-such-thing"):
        _assert_error(client.get(path), 404, "not_found")
    # A NUL is refused at the door, before the resolver (comms.input_guard): JSON too.
    _assert_error(client.get("/api/v1/messages/%00/revisions"), 400, "invalid_characters")
    _assert_error(client.post("/api/v1/threads/abc/messages", {"body": "x"},
                              content_type="application/json"), 404, "not_found")


@pytest.mark.django_db
def test_a_non_integer_announcement_id_is_json_too(personas):
    # These paths take any segment and validate it in ninja, after authentication.
    _token, secret = token_create(user=personas.smg_member, name="t", scopes=["read"])
    assert Client().get("/api/v1/announcements/abc").json()["error"]["code"] == (
        "unauthenticated")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    error = _assert_error(client.get("/api/v1/announcements/abc"), 422, "invalid_input")
    assert list(error["fields"]) == ["path.announcement_id"]


@pytest.mark.django_db
def test_the_404_message_follows_the_language(client):
    error = _assert_error(client.get("/api/v1/channels/abc", HTTP_ACCEPT_LANGUAGE="en"),
                          404, "not_found")
    assert error["message"] == "Not found."


@pytest.mark.django_db
def test_a_method_the_path_does_not_have_is_a_json_405(personas):
    _token, secret = token_create(user=personas.smg_member, name="t", scopes=["read"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.delete("/api/v1/me")
    _assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    response = client.put("/api/v1/check", {}, content_type="application/json")
    _assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


@pytest.mark.django_db
def test_an_unhandled_error_is_a_json_500_without_its_traceback(caplog):
    """A real fault (the table is gone, as after a botched migration), not a stand-in: the
    client reads `server_error` and nothing of the cause; the log keeps the traceback."""
    table = connection.ops.quote_name(SigningKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO gone_for_the_test")
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/v1/keys")
    _assert_error(response, 500, "server_error")
    text = response.content.decode()
    for leak in ("Traceback", "gone_for_the_test", "signingkey", "Error", "File \""):
        assert leak not in text
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert len(logged) == 1
    assert "/api/v1/keys" in logged[0].getMessage()


@pytest.mark.django_db
def test_invalid_input_keeps_its_format(personas):
    _token, secret = token_create(user=personas.smg_member, name="t", scopes=["read", "write"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post("/api/v1/announcements/1/ack", {"version": 0},
                           content_type="application/json")
    error = _assert_error(response, 422, "invalid_input")
    assert list(error["fields"]) == ["version"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_multipart_body_without_a_boundary_is_a_json_400(personas, settings, debug):
    # Refused at the door (comms.input_guard) with the API's error format: never a 500, nor,
    # with DEBUG on, ninja's traceback page.
    settings.DEBUG = debug
    _token, secret = token_create(user=personas.smg_author, name="t", scopes=["read", "write"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
    response = client.post("/api/v1/announcements/1/attachments", b"--x--\r\n",
                           content_type="multipart/form-data")
    text = response.content.decode()
    _assert_error(response, 400, "invalid_body")
    assert "Traceback" not in text and "MultiPartParserError" not in text


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_json_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = client.post("/api/v1/check", {"text": "a" * 2_000},
                           content_type="application/json")
    _assert_error(response, 400, "bad_request")


@pytest.mark.django_db
def test_an_id_beyond_bigint_is_a_json_404(personas):
    # Found by the schemathesis run on SQLite (OverflowError binding the id): never a 500.
    _token, secret = token_create(user=personas.smg_member, name="t", scopes=["read", "write"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
    huge = 2**90
    _assert_error(client.post(f"/api/v1/announcements/{huge}/read"), 404, "not_found")
    _assert_error(client.get(f"/api/v1/announcements/{huge}"), 404, "not_found")
