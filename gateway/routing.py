"""What every route that takes the unit of work gets, whoever wrote it, and its OpenAPI entry.

A route that takes ``Tx`` (:func:`gateway.deps.get_transaction`) is rate limited (429) and, when it
is a POST, honours ``Idempotency-Key`` (:mod:`gateway.idempotency`), both done by that dependency,
so a new route needs nothing of its own. :func:`document_plumbing` adds both to the OpenAPI
document, for every such route, once the document is generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.deps import get_transaction
from gateway.idempotency import HEADER, MAX_KEY_LENGTH, REPLAYED_HEADER
from gateway.schemas import problem_responses


@dataclass(frozen=True, slots=True)
class Operation:
    path: str
    method: str
    dependant: Dependant


def uses_transaction(dependant: Dependant) -> bool:
    """Whether a route (or a dependency of it, at any depth) takes the request's unit of work."""
    return any(dependency.call is get_transaction or uses_transaction(dependency)
               for dependency in dependant.dependencies)


def operations(app: FastAPI) -> list[Operation]:
    """Every HTTP operation of the app's API routes, with its full path, included routers' too."""
    try:  # FastAPI >= 0.16x includes routers lazily: the routes are reached through their contexts
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI copies included routes into app.routes
        contexts = [route for route in app.routes if isinstance(route, APIRoute)]
    else:
        contexts = [context for context in iter_route_contexts(app.routes)
                    if isinstance(context.original_route, APIRoute)]
    return [Operation(path=context.path, method=method, dependant=context.dependant)
            for context in contexts for method in sorted(context.methods or ())]


_IDEMPOTENCY_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        f"Makes a retry safe: a request repeated with the same key (by the same partner system and staff "
        f"member, within 24 hours) and the same route, purpose and body is not done again; it gets the first "
        f"answer again (status, body, `Location`), marked `{REPLAYED_HEADER}: true`. The same key with another "
        f"request is 422; a request still running with the same key makes this one 409 (nothing done; retry). "
        f"Only successful answers are kept. 1 to {MAX_KEY_LENGTH} printable ASCII characters, else 400; "
        f"a UUID is a good key."),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[\\x20-\\x7E]+$"},
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds until this partner system may send again",
                                "schema": {"type": "integer"}}}


def _problem(status: int) -> dict[str, Any]:
    response = problem_responses(status)[status]
    documented = {"description": response["description"], "content": response["content"]}
    if status == 429:
        documented["headers"] = _RETRY_AFTER
    return documented


def document_plumbing(app: FastAPI, *, purposes: list[str] | None = None, token_url: str | None = None) -> None:
    """Add the rate limit to every operation that takes the unit of work, and ``Idempotency-Key``
    (with its 409 and 422) to every such POST, in the app's OpenAPI document; name the covenant's
    purposes as the values of ``X-Purpose``, and where bearer tokens come from."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # cached by FastAPI; the additions below are made once
        bearer = document.get("components", {}).get("securitySchemes", {}).get("HTTPBearer")
        if bearer is not None and token_url:
            bearer["bearerFormat"] = "JWT"
            bearer["description"] = (f"An access token (RFC 9068 JWT) from the token endpoint {token_url}: "
                                     "JWT-bearer grant for a staff member, client_credentials for a partner system")
        for operation in operations(app):
            entry = document.get("paths", {}).get(operation.path, {}).get(operation.method.lower())
            if entry is None or not uses_transaction(operation.dependant):
                continue
            responses = entry.setdefault("responses", {})
            responses.setdefault("429", _problem(429))
            for parameter in entry.get("parameters", []):
                if purposes and parameter.get("name") == "X-Purpose" and parameter.get("in") == "header":
                    # The values are the covenant's (art. 4); any other is answered 400 purpose-invalid.
                    parameter["schema"] = {"type": "string", "enum": list(purposes), "title": "X-Purpose"}
            if operation.method == "POST":
                parameters = entry.setdefault("parameters", [])
                if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
                    parameters.append(dict(_IDEMPOTENCY_PARAMETER))
                for status in (409, 422):
                    responses.setdefault(str(status), _problem(status))
        return document

    app.openapi = openapi
