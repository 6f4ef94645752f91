"""HTTP routes of art. 5 disclosures. Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from gateway.deps import Tx
from gateway.disclosures import service as disclosures_service
from gateway.disclosures.schemas import DisclosureCreate, DisclosureRead
from gateway.schemas import problem_responses

router = APIRouter(tags=["disclosures"])

_DISCLOSURES = "/v1/clients/{client_id}/entries/{entry_id}/disclosures"


@router.post(_DISCLOSURES, status_code=status.HTTP_201_CREATED, response_model=DisclosureRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def approve(client_id: uuid.UUID, entry_id: uuid.UUID, body: DisclosureCreate, tx: Tx,
            response: Response) -> disclosures_service.DisclosureView:
    """A prosecutor (scope `disclosures:approve`) approves disclosing this criminal entry to one party
    outside the criminal-justice chain (art. 5): its linked staff see the entry from now on."""
    view = disclosures_service.approve(tx, client_id, entry_id, purpose=tx.purpose,
                                       recipient_party=body.recipient_party)
    response.headers["Location"] = f"{_DISCLOSURES.format(client_id=client_id, entry_id=entry_id)}/{view.id}"
    return view


@router.get(_DISCLOSURES, response_model=list[DisclosureRead],
            responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_disclosures(client_id: uuid.UUID, entry_id: uuid.UUID, tx: Tx) -> list[disclosures_service.DisclosureView]:
    """The entry's disclosures, revoked ones included, oldest first."""
    return disclosures_service.list_disclosures(tx, client_id, entry_id, purpose=tx.purpose)


@router.post(_DISCLOSURES + "/{disclosure_id}/revoke", response_model=DisclosureRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def revoke(client_id: uuid.UUID, entry_id: uuid.UUID, disclosure_id: uuid.UUID,
           tx: Tx) -> disclosures_service.DisclosureView:
    """Revoke a disclosure: from this moment the party's staff no longer see the entry. 409 when already
    revoked."""
    return disclosures_service.revoke(tx, client_id, entry_id, disclosure_id, purpose=tx.purpose)
