"""What every route that takes the unit of work gets, whoever wrote it, and its OpenAPI entry.

A route that takes ``Tx`` (:func:`gateway.deps.get_transaction`) is rate limited (429) by that
dependency, so a new route needs nothing of its own. :func:`document_plumbing` adds it to the
OpenAPI document, for every such route, once the document is generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.deps import get_transaction
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


_RETRY_AFTER = {"Retry-After": {"description": "Seconds until this partner system may send again",
                                "schema": {"type": "integer"}}}


def _problem(status: int) -> dict[str, Any]:
    response = problem_responses(status)[status]
    documented = {"description": response["description"], "content": response["content"]}
    if status == 429:
        documented["headers"] = _RETRY_AFTER
    return documented


def document_plumbing(app: FastAPI) -> None:
    """Add the rate limit to every operation that takes the unit of work, in the app's OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # cached by FastAPI; the additions below are made once
        for operation in operations(app):
            entry = document.get("paths", {}).get(operation.path, {}).get(operation.method.lower())
            if entry is None or not uses_transaction(operation.dependant):
                continue
            entry.setdefault("responses", {}).setdefault("429", _problem(429))
        return document

    app.openapi = openapi
