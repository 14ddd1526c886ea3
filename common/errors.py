"""One error type for business-rule refusals, understood by every entry point.

A service raises `ServiceError(code, message, fields=…, status=…)`; the JSON API turns it into
`{"error": {"code", "message", "fields"}}` with `status`, a page into a form/message error, and
the WebSocket gateway into `{"type": "error", "code", "message"}` — so a refusal reads the same
everywhere, and the code is what clients and tests match on.
"""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.fields = fields or {}
        self.status = status

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class NotFound(ServiceError):
    """The object does not exist *or* the caller may not see it: the same answer for both."""

    def __init__(self, message: str = "Tidak ditemukan.") -> None:
        super().__init__("not_found", message, status=404)


class Forbidden(ServiceError):
    """The caller may see the object but may not do this to it."""

    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(code, message, status=403)
