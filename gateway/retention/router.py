"""HTTP routes of legal holds. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from gateway.deps import Tx
from gateway.retention import holds as holds_service
from gateway.retention.schemas import HoldCreate, HoldRead
from gateway.schemas import problem_responses

router = APIRouter(tags=["retention"])

_HOLDS = "/v1/clients/{client_id}/holds"


@router.post(_HOLDS, status_code=status.HTTP_201_CREATED, response_model=HoldRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def place_hold(client_id: uuid.UUID, body: HoldCreate, tx: Tx, response: Response) -> holds_service.HoldView:
    """Place a legal hold on the client's file (scope `requests:handle`, purpose `subject_rights`; the
    controller's privacy officers): the retention purge skips the client while it is in force."""
    view = holds_service.place_hold(tx, client_id, purpose=tx.purpose, reason=body.reason, until_on=body.until)
    response.headers["Location"] = f"{_HOLDS.format(client_id=client_id)}/{view.id}"
    return view


@router.get(_HOLDS, response_model=list[HoldRead], responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_holds(client_id: uuid.UUID, tx: Tx) -> list[holds_service.HoldView]:
    """The client's legal holds, released ones included, oldest first."""
    return holds_service.list_holds(tx, client_id, purpose=tx.purpose)


@router.post(_HOLDS + "/{hold_id}/release", response_model=HoldRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def release_hold(client_id: uuid.UUID, hold_id: uuid.UUID, tx: Tx) -> holds_service.HoldView:
    """Release a legal hold: the next purge destroys the client if its term has ended. 409 when already
    released."""
    return holds_service.release_hold(tx, client_id, hold_id, purpose=tx.purpose)
