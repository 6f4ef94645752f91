"""HTTP routes of the client register. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from gateway.clients import service as clients_service
from gateway.clients.schemas import ClientCreate, ClientCreated, ClientRead
from gateway.deps import Tx
from gateway.pagination import next_link
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/clients", tags=["clients"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated,
             responses=problem_responses(400, 401, 403, 409, 422, 503))
def register_client(body: ClientCreate, tx: Tx, response: Response) -> ClientCreated:
    """Register a client (scope `team:manage`, purpose `case_management`; client managers and field
    directors). A registering client manager becomes the client's client manager and joins the care team.

    409 when a client with this BSN is already registered.
    """
    registered = clients_service.register_client(tx, purpose=tx.purpose, bsn=body.bsn, informed_at=body.informed_at)
    response.headers["Location"] = f"/v1/clients/{registered.id}"
    return ClientCreated(id=registered.id, pseudonym=registered.pseudonym)


@router.get("", response_model=list[ClientRead], responses=problem_responses(400, 401, 403, 422, 503))
def list_clients(tx: Tx, request: Request, response: Response,
                 limit: Annotated[int, Query(ge=1, le=clients_service.MAX_PAGE)] = 50,
                 cursor: Annotated[str | None, Query(max_length=200)] = None) -> list[clients_service.ClientView]:
    """The clients the caller has an active care-team link to (field directors: every client),
    oldest registration first. Further pages are linked from the `Link` header (`rel="next"`).
    """
    page = clients_service.list_clients(tx, purpose=tx.purpose, limit=limit, cursor=cursor)
    if page.next_cursor:
        response.headers["Link"] = next_link(request, cursor=page.next_cursor)
    return page.items


@router.get("/{client_id}", response_model=ClientRead, responses=problem_responses(400, 401, 403, 404, 422, 503))
def read_client(client_id: uuid.UUID, tx: Tx) -> clients_service.ClientView:
    """The client's summary, for staff linked to the client and for field directors."""
    return clients_service.read_client(tx, client_id, purpose=tx.purpose)
