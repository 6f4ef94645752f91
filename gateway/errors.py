"""One error base for the gateway, rendered as RFC 9457 problem+json with stable type URIs.

Services raise these, never ``HTTPException``; one handler renders them. Messages never include
personal data: not the content that failed validation, not the value of a header or a path.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

PROBLEM_BASE = "tag:covenant-gateway,2026:problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# The members RFC 9457 defines; an error's extension members sit beside them, never over them.
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class GatewayError(Exception):
    """An answer other than success. The base class is the last resort: an internal error."""

    status_code = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        if clash := _PROBLEM_MEMBERS.intersection(self.extra):
            raise ValueError(f"extension members may not replace RFC 9457's own: {sorted(clash)}")
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def problem(self, request_id: str | None = None) -> dict[str, Any]:
        body = {"type": self.type_uri, "title": self.title, "status": self.status_code, "detail": self.detail}
        if request_id:
            body["instance"] = f"urn:uuid:{request_id}"
        body.update(self.extra)
        return body

    def response_parts(self, request_id: str | None) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Status, body and headers of the problem document, for any layer that answers it."""
        headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in self.headers.items()]
        return self.status_code, json.dumps(self.problem(request_id)).encode(), headers


class BadRequest(GatewayError):
    status_code = 400
    slug = "bad-request"
    title = "Bad request"


class PurposeInvalid(BadRequest):
    slug = "purpose-invalid"
    title = "Missing or unknown purpose"


class Unauthenticated(GatewayError):
    status_code = 401
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str = "a valid bearer token is required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="covenant-gateway"'})


class Forbidden(GatewayError):
    status_code = 403
    slug = "forbidden"
    title = "Not permitted by the covenant"


class NotFound(GatewayError):
    status_code = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(GatewayError):
    status_code = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class Conflict(GatewayError):
    status_code = 409
    slug = "conflict"
    title = "Conflict"


class InvalidContent(GatewayError):
    status_code = 422
    slug = "invalid-content"
    title = "The request does not fit the covenant's data set"


class InvalidRequest(GatewayError):
    status_code = 422
    slug = "invalid-request"
    title = "The request is not well-formed"


class RecordIntegrityError(GatewayError):
    status_code = 500
    slug = "record-integrity"
    title = "Record integrity"

    def __init__(self) -> None:
        super().__init__("an entry of this file could not be decrypted where it was found; nothing was returned "
                         "and the failure is in the audit trail")


class HttpProblem(GatewayError):
    """Another HTTP-level refusal from the framework (a body too large, one that cannot be read)."""

    slug = "http-error"

    def __init__(self, status_code: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        self.status_code = status_code
        self.title = HTTPStatus(status_code).phrase


class AuditUnavailableError(GatewayError):
    status_code = 503
    slug = "audit-unavailable"
    title = "Service unavailable"

    def __init__(self) -> None:
        super().__init__("the audit trail could not be written, so nothing was done; try again later",
                         headers={"Retry-After": "5"})
