"""HTTP routes of consent records. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from gateway.consents import service as consents_service
from gateway.consents.schemas import ConsentCreate, ConsentRead
from gateway.deps import Tx
from gateway.schemas import problem_responses

router = APIRouter(tags=["consents"])

_CONSENTS = "/v1/clients/{client_id}/consents"


@router.post(_CONSENTS, status_code=status.HTTP_201_CREATED, response_model=ConsentRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def record_consent(client_id: uuid.UUID, body: ConsentCreate, tx: Tx, response: Response) -> consents_service.ConsentView:
    """The client's own client manager (scope `team:manage`, purpose `case_management`) records the
    client's consent to an exchange the covenant makes depend on it; 409 while one is in force."""
    view = consents_service.record_consent(tx, client_id, purpose=tx.purpose, scope=body.scope,
                                           given_at=body.given_at)
    response.headers["Location"] = f"{_CONSENTS.format(client_id=client_id)}/{view.id}"
    return view


@router.get(_CONSENTS, response_model=list[ConsentRead], responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_consents(client_id: uuid.UUID, tx: Tx) -> list[consents_service.ConsentView]:
    """The client's consents, withdrawn ones included, oldest first."""
    return consents_service.list_consents(tx, client_id, purpose=tx.purpose)


@router.post(_CONSENTS + "/{consent_id}/withdraw", response_model=ConsentRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def withdraw_consent(client_id: uuid.UUID, consent_id: uuid.UUID, tx: Tx) -> consents_service.ConsentView:
    """The client withdraws a consent: the exchange is refused from this moment. 409 when already withdrawn."""
    return consents_service.withdraw_consent(tx, client_id, consent_id, purpose=tx.purpose)
