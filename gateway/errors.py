"""One error base for the gateway, rendered as RFC 9457 problem+json with stable type URIs.

Services raise these, never ``HTTPException``; one handler renders them. Messages never include
personal data: not the content that failed validation, not the value of a header or a path.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "tag:covenant-gateway,2026:problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class GatewayError(Exception):
    status_code = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body = {"type": self.type_uri, "title": self.title, "status": self.status_code, "detail": self.detail}
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


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


class Conflict(GatewayError):
    status_code = 409
    slug = "conflict"
    title = "Conflict"


class InvalidContent(GatewayError):
    status_code = 422
    slug = "invalid-content"
    title = "The request does not fit the covenant's data set"


class RecordIntegrityError(GatewayError):
    status_code = 500
    slug = "record-integrity"
    title = "Record integrity"

    def __init__(self) -> None:
        super().__init__("an entry of this file could not be decrypted where it was found; nothing was returned "
                         "and the failure is in the audit trail")


class AuditUnavailableError(GatewayError):
    status_code = 503
    slug = "audit-unavailable"
    title = "Service unavailable"

    def __init__(self) -> None:
        super().__init__("the audit trail could not be written, so nothing was done; try again later",
                         headers={"Retry-After": "5"})
