"""Schemas shared by every router: the problem document and the error responses each route documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from gateway.errors import PROBLEM_MEDIA_TYPE


class FieldError(BaseModel):
    field: str
    problem: str


class Problem(BaseModel):
    """RFC 9457 problem details. ``type`` is a stable URI per kind of problem."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    reason: str | None = None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Missing or unknown purpose (X-Purpose), a malformed cursor or Idempotency-Key",
        401: "No valid bearer token",
        403: "The covenant does not permit this (not linked, category, purpose, role, scope)",
        404: "Not found (an unknown client only to those who keep the client register)",
        409: "Conflicts with the current state (or another request with the same Idempotency-Key is running)",
        422: "The request does not fit the covenant's data set or the schema (or reuses an Idempotency-Key)",
        429: "Too many requests from this partner system; try again after `Retry-After` seconds",
        503: "The audit trail could not be written; nothing was done",
    }
    return {status: {"model": Problem, "description": descriptions[status],
                     "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}
