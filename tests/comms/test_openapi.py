"""The OpenAPI document says what each operation answers, so that checking the running API
against it (tests/comms/test_schemathesis.py) means something: a typed schema for success and
the one error schema for each status the operation can answer."""

from __future__ import annotations

from typing import Any

import pytest

#: Response fields still typed only as "an object" — `announcements/verification/cek.py`
#: (`CheckOut`) belongs to the /cek work of issue 14; type them there and empty this list.
UNTYPED_OBJECTS_ALLOWED = {"CheckOut.announcement", "CheckOut.diff"}


@pytest.fixture
def document(client, db) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(document: dict) -> list[tuple[str, dict]]:
    return [(f"{method.upper()} {path}", op)
            for path, ops in document["paths"].items() for method, op in ops.items()]


def _component(document: dict, ref: str) -> tuple[str, dict]:
    name = ref.removeprefix("#/components/schemas/")
    return name, document["components"]["schemas"][name]


def _untyped_objects(document: dict, schema: dict, where: str, seen: set[str]) -> list[str]:
    """Every place under `schema` that is an object without a shape ({} or dict)."""
    found: list[str] = []
    if "$ref" in schema:
        name, target = _component(document, schema["$ref"])
        if name not in seen:
            seen.add(name)
            found += _untyped_objects(document, target, name, seen)
        return found
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += _untyped_objects(document, option, where, seen)
    if "items" in schema:
        found += _untyped_objects(document, schema["items"], where, seen)
    if schema.get("type") == "object" or "properties" in schema:
        for field, sub in schema.get("properties", {}).items():
            found += _untyped_objects(document, sub, f"{where}.{field}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            found += _untyped_objects(document, extra, f"{where}.*", seen)
        elif not schema.get("properties"):
            found.append(where)
    if not schema:  # `Any`: says nothing
        found.append(where)
    return found


def test_there_are_operations(document):
    assert len(_operations(document)) >= 45


def test_every_operation_has_one_typed_success_response(document):
    problems = []
    for name, op in _operations(document):
        success = [status for status in op["responses"] if 200 <= int(status) < 300]
        if len(success) != 1:
            problems.append(f"{name}: success statuses {success}")
            continue
        response = op["responses"][success[0]]
        if success[0] == "204":
            assert "content" not in response, name
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        top = schema.get("items", schema) if schema.get("type") == "array" else schema
        if "$ref" not in top:
            problems.append(f"{name}: {success[0]} is not a named schema: {schema}")
            continue
        untyped = set(_untyped_objects(document, schema, name, set()))
        problems += [f"{name}: untyped object at {where}"
                     for where in sorted(untyped - UNTYPED_OBJECTS_ALLOWED)]
    assert problems == []


def _required_errors(op: dict) -> set[int]:
    """What any operation of this shape can answer besides success."""
    required: set[int] = set()
    if op.get("security"):
        required |= {401, 403}  # no or a wrong credential; a token without the scope
    parameters = op.get("parameters", [])
    if any(p["in"] == "path" and p["schema"].get("type") == "integer" for p in parameters):
        required |= {404, 422}  # no such object, or not visible; not an integer
    if any(p["in"] == "query" and p["schema"].get("type") not in (None, "string")
           for p in parameters):
        required.add(422)
    if "requestBody" in op:
        required |= {400, 422}  # not JSON; not the schema
    return required


def test_every_operation_declares_its_error_statuses_with_the_error_schema(document):
    problems = []
    for name, op in _operations(document):
        declared = {int(status) for status in op["responses"] if int(status) >= 400}
        missing = _required_errors(op) - declared
        if missing:
            problems.append(f"{name}: does not declare {sorted(missing)}")
        for status in declared:
            schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
            if schema != {"$ref": "#/components/schemas/ErrorOut"}:
                problems.append(f"{name}: {status} is not ErrorOut")
    assert problems == []


def test_the_error_schema_is_the_errors_the_api_answers(document, client):
    _name, error_out = _component(document, "#/components/schemas/ErrorOut")
    _name, detail = _component(document, error_out["properties"]["error"]["$ref"])
    assert set(detail["required"]) == {"code", "message", "fields"}
    body = client.get("/api/v1/me").json()
    assert set(body) == set(error_out["required"]) == {"error"}
    assert set(body["error"]) == set(detail["properties"])
