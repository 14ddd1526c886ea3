"""JSON bodies are strictly typed: `true` is not version 1, `"2"` or `2.0` not the number 2,
`1` or `"false"` not a boolean, a number not a date-time. Each is a 422 in the API's error
format, naming the field, and nothing is written. Query parameters arrive as text and stay
lax (`?limit=5`)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tokens import token_create
from announcements.receipts.models import Receipt
from tests.receipts.conftest import publish_ack

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    _token, secret = token_create(user=user, name="t", scopes=["read", "write", "publish"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _assert_invalid(response, field: str) -> None:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["fields"], error


@pytest.fixture
def ann(personas):
    from tests.conftest import enable_mfa

    enable_mfa(personas.smg_signer)
    return publish_ack(personas)


@pytest.mark.parametrize("version", [True, "1", 1.0], ids=["bool", "string", "float"])
def test_an_acknowledgement_version_must_be_an_integer(ann, personas, version):
    client = _client(personas.smg_member)
    response = client.post(f"/api/v1/announcements/{ann.pk}/ack", {"version": version},
                           content_type="application/json")
    _assert_invalid(response, "version")
    receipt = Receipt.objects.get(announcement=ann, user=personas.smg_member)
    assert receipt.acknowledged_at is None and receipt.acknowledged_version is None
    # The same with a real integer is accepted.
    response = client.post(f"/api/v1/announcements/{ann.pk}/ack", {"version": 1},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged_version"] == 1


_DRAFT = {"issuer": "33.74.DISKOMINFO", "title": "Rapat", "body": "Senin.",
          "reference_number": "800/1/2026", "audience": {"units": ["33.74"]}}

# (method, path, body, the field named in the error). Ids need not exist: a body is
# validated before the view looks anything up.
CASES = [
    ("post", "/api/v1/announcements", {**_DRAFT, "requires_ack": 1}, "requires_ack"),
    ("post", "/api/v1/announcements", {**_DRAFT, "requires_ack": "true"}, "requires_ack"),
    ("post", "/api/v1/announcements",
     {**_DRAFT, "audience": {"units": ["33.74"], "include_subunits": "false"}},
     "audience.include_subunits"),
    ("post", "/api/v1/announcements", {**_DRAFT, "ack_deadline": 1893456000}, "ack_deadline"),
    ("put", "/api/v1/announcements/1", {"title": "T", "body": "B", "requires_ack": 0},
     "requires_ack"),
    ("post", "/api/v1/announcements/1/publish", {"publish_at": 1893456000}, "publish_at"),
    ("post", "/api/v1/announcements/1/versions",
     {"title": "T", "body": "B", "reason": "R", "requires_reack": "yes"}, "requires_reack"),
    ("post", "/api/v1/announcements/1/ack", {"version": 2.0}, "version"),
    ("post", "/api/v1/channels", {"name": "C", "kind": "private", "member_user_ids": ["5"]},
     "member_user_ids.0"),
    ("post", "/api/v1/channels", {"name": "C", "kind": "unit", "read_only": 1}, "read_only"),
    ("post", "/api/v1/channels/1/archive", {"archived": "false"}, "archived"),
    ("post", "/api/v1/channels/1/members", {"user_id": "5"}, "user_id"),
    ("post", "/api/v1/threads/1/messages", {"body": "x", "reply_to": "1"}, "reply_to"),
    ("post", "/api/v1/threads/1/read", {"up_to": 1.0}, "up_to"),
    ("post", "/api/v1/threads/1/resolve", {"resolved": 0}, "resolved"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), CASES,
                         ids=[f"{c[1]}:{c[3]}" for c in CASES])
def test_a_json_body_of_the_wrong_type_is_refused(personas, method, path, body, field):
    response = getattr(_client(personas.smg_author), method)(
        path, body, content_type="application/json")
    _assert_invalid(response, field)


def test_a_number_where_text_belongs_is_refused_naming_a_field_called_body(personas):
    # Pydantic never turned numbers into text; but the error named the field `__all__`, as
    # the handler dropped every location part called "body" (the body's own prefix, and also
    # the field of MessageIn that is called `body`).
    response = _client(personas.smg_member).post("/api/v1/threads/1/messages", {"body": 5},
                                                 content_type="application/json")
    _assert_invalid(response, "body")
    assert list(response.json()["error"]["fields"]) == ["body"]


def test_query_parameters_stay_text_that_is_parsed(personas):
    response = _client(personas.smg_member).get("/api/v1/announcements", {"limit": "5"})
    assert response.status_code == 200, response.content
