"""HTTP routes of a client's care team. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from gateway.care import service as care_service
from gateway.care.schemas import LinkCreate, LinkCreated, LinkEnd, LinkRead
from gateway.deps import Tx
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/clients/{client_id}/team", tags=["care team"])


@router.get("", response_model=list[LinkRead], responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_team(client_id: uuid.UUID, tx: Tx) -> list[care_service.LinkView]:
    """The client's care team, past and present links in the order they began, for staff linked to the
    client and for field directors."""
    return care_service.list_team(tx, client_id, purpose=tx.purpose)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=LinkCreated,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def grant_link(client_id: uuid.UUID, body: LinkCreate, tx: Tx, response: Response) -> LinkCreated:
    """Link a staff member to the client's care team from now (scope `team:manage`, purpose
    `case_management`; the client's own client manager while linked, or a field director).

    409 when the staff member is already linked.
    """
    link_id = care_service.grant_link(tx, client_id=client_id, staff_id=body.staff_id, purpose=tx.purpose,
                                      reason=body.reason, until=body.until)
    response.headers["Location"] = f"/v1/clients/{client_id}/team/{link_id}"
    return LinkCreated(id=link_id)


@router.get("/{link_id}", response_model=LinkRead, responses=problem_responses(400, 401, 403, 404, 422, 503))
def read_link(client_id: uuid.UUID, link_id: uuid.UUID, tx: Tx) -> care_service.LinkView:
    """One link of the client's care team."""
    return care_service.read_link(tx, client_id, link_id, purpose=tx.purpose)


@router.post("/{link_id}/end", response_model=LinkRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def end_link(client_id: uuid.UUID, link_id: uuid.UUID, body: LinkEnd, tx: Tx) -> care_service.LinkView:
    """End a link now (scope `team:manage`, purpose `case_management`): from this moment the member is
    refused the client's file. 409 when it has already ended."""
    return care_service.end_link(tx, client_id=client_id, link_id=link_id, purpose=tx.purpose, reason=body.reason)
