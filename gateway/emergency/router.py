"""HTTP routes of break-the-glass. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from gateway.deps import Tx
from gateway.emergency import service as emergency_service
from gateway.emergency.schemas import EmergencyOpen, EmergencyOpened, EmergencyRead, EmergencyReview
from gateway.pagination import next_link
from gateway.schemas import problem_responses

router = APIRouter(tags=["break-the-glass"])


@router.post("/v1/clients/{client_id}/emergency-access", status_code=status.HTTP_201_CREATED,
             response_model=EmergencyOpened, responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def open_emergency(client_id: uuid.UUID, body: EmergencyOpen, tx: Tx, response: Response) -> EmergencyOpened:
    """Break-the-glass (scope `records:read`, a care purpose): open the client's file to the caller, who
    is not linked to the client, for the covenant's emergency window, with a stated reason.

    Every read in the window is flagged in the audit trail and a privacy officer reviews the opening.
    403 when the covenant does not allow it, for a linked caller, and for a client whose processing
    has been stopped after an objection; 409 while the caller already has an open window.
    """
    opened = emergency_service.open_emergency(tx, client_id, purpose=tx.purpose, reason=body.reason)
    response.headers["Location"] = f"/v1/audit/emergency-accesses/{opened.id}"
    return EmergencyOpened(id=opened.id, until=opened.until)


@router.get("/v1/audit/emergency-accesses", response_model=list[EmergencyRead],
            responses=problem_responses(400, 401, 403, 422, 503))
def list_emergencies(tx: Tx, request: Request, response: Response,
                     pending: Annotated[bool | None, Query(description=(
                         "true: only those not yet reviewed; false: only those reviewed"))] = None,
                     limit: Annotated[int, Query(ge=1, le=100)] = 50,
                     cursor: Annotated[str | None, Query(max_length=200)] = None) -> list:
    """Emergency windows, oldest first, for privacy officers (scope `audit:read`, purpose `oversight`);
    one of another party than the controller sees those its own party's staff opened.

    Further pages are linked from the `Link` header (`rel="next"`).
    """
    page = emergency_service.list_emergencies(tx, purpose=tx.purpose, pending=pending, limit=limit, cursor=cursor)
    if page.next_cursor:
        response.headers["Link"] = next_link(request, cursor=page.next_cursor)
    return page.items


@router.post("/v1/audit/emergency-accesses/{access_id}/review", response_model=EmergencyRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def review_emergency(access_id: uuid.UUID, body: EmergencyReview, tx: Tx) -> emergency_service.EmergencyView:
    """Record a privacy officer's finding on an emergency window (scope `audit:read`, purpose
    `oversight`): justified or unjustified, with a note. 409 when it has already been reviewed."""
    return emergency_service.review_emergency(tx, access_id, purpose=tx.purpose, outcome=body.outcome,
                                              note=body.note)
