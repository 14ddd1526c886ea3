"""The API's shared schemas: the response base, the one error shape, the strict JSON
date-time. In common (not comms.api, which builds the NinjaAPI) because every feature app's
router uses them and the feature apps sit below comms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field


class OutSchema(BaseModel):
    """Base of the response schemas. The operations build plain dicts, so plain pydantic
    validates them: ninja's Schema wraps every nested object in a getter for ORM objects,
    which made a page of 200 inbox items about three times slower to check."""


class ErrorDetail(OutSchema):
    code: str = Field(description="what went wrong, for programs: not_found, invalid_input …")
    message: str = Field(description="for people, in the request's language")
    fields: dict[str, list[str]] = Field(description="per input field (dotted path): messages")


class ErrorOut(OutSchema):
    """The one error shape of the API, whatever the status."""

    error: ErrorDetail


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error part of an operation's `response=`: `{200: X, **errors(401, 403, 404)}`."""
    return {status: ErrorOut for status in statuses}


def _require_json_string(value: Any) -> Any:
    # Pydantic's lax datetime also takes a number (seconds since 1970); in a JSON body a
    # date-time is an RFC 3339 string. Objects built in Python (datetime) still pass.
    if isinstance(value, int | float):
        raise ValueError("a date-time is an RFC 3339 string, not a number")
    return value


#: A date-time in a JSON body: an RFC 3339 string only.
JsonDateTime = Annotated[datetime, BeforeValidator(_require_json_string)]
