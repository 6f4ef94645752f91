"""HTTP routes of a client's file. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from gateway.deps import Tx
from gateway.pagination import next_link
from gateway.records import service as records_service
from gateway.records.schemas import EntryCreate, EntryCreated, EntryRead
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/clients/{client_id}/entries", tags=["records"])


@router.get("", response_model=list[EntryRead], responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_entries(client_id: uuid.UUID, tx: Tx, request: Request, response: Response,
                 limit: Annotated[int, Query(ge=1, le=100)] = 50,
                 cursor: Annotated[str | None, Query(max_length=200)] = None,
                 kind: Annotated[str | None, Query(max_length=64)] = None) -> list[records_service.EntryView]:
    """The entries of the client's file in the categories the staff member's party may read, oldest first.

    Further pages are linked from the `Link` header (`rel="next"`).
    """
    page = records_service.list_entries(tx, client_id, purpose=tx.purpose, limit=limit, cursor=cursor, kind=kind)
    if page.next_cursor:
        response.headers["Link"] = next_link(request, cursor=page.next_cursor)
    return page.items


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EntryCreated,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def create_entry(client_id: uuid.UUID, body: EntryCreate, tx: Tx, response: Response) -> EntryCreated:
    """Add an entry to the client's file, encrypted with the client's own key."""
    entry_id = records_service.write_entry(
        tx, client_id, purpose=tx.purpose, kind=body.kind, category=body.category, content=body.content,
        source_reference=body.source_reference, confidentiality_ground=body.confidentiality_ground)
    response.headers["Location"] = f"/v1/clients/{client_id}/entries/{entry_id}"
    return EntryCreated(id=entry_id)


@router.get("/{entry_id}", response_model=EntryRead, responses=problem_responses(400, 401, 403, 404, 422, 503))
def read_entry(client_id: uuid.UUID, entry_id: uuid.UUID, tx: Tx) -> records_service.EntryView:
    """One entry of the client's file."""
    return records_service.read_entry(tx, client_id, entry_id, purpose=tx.purpose)
