from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from gateway.auditlog import service as auditlog_service
from gateway.auditlog.schemas import (AuditEventRead, ConsistencyProofRead, InclusionProofRead,
                                      LatestCheckpointRead)
from gateway.deps import Tx
from gateway.pagination import next_link
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/events", response_model=list[AuditEventRead], responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_events(tx: Tx, request: Request, response: Response,
                client_id: uuid.UUID | None = None,
                pseudonym: Annotated[str | None, Query(max_length=32)] = None,
                actor_id: Annotated[str | None, Query(max_length=64)] = None,
                trace_id: Annotated[str | None, Query(pattern="^[0-9a-f]{32}$", description=(
                    "The trace id of a partner's W3C `traceparent`: the events of that partner's trace"))] = None,
                party: Annotated[str | None, Query(max_length=64, description="The acting party's code")] = None,
                action: Annotated[str | None, Query(max_length=64, description="An audit action, e.g. record.read")] = None,
                outcome: Annotated[str | None, Query(pattern="^(permit|deny|error)$")] = None,
                activity: Annotated[str | None, Query(max_length=100, description=(
                    "A processing activity's id from the register (`GET /v1/register`), e.g. "
                    "demo-region:housing: the events that served it"))] = None,
                occurred_from: Annotated[AwareDatetime | None, Query(description="From this moment (inclusive)")] = None,
                occurred_until: Annotated[AwareDatetime | None, Query(description="Before this moment")] = None,
                before: Annotated[int | None, Query(ge=1)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list:
    """Audit events, newest first, for privacy officers (purpose `oversight` or `subject_rights`).

    Filter by `client_id` (or by `pseudonym` for a client whose file is gone), by `actor_id`, and by
    `trace_id` (the events recorded for a partner's requests that carried that W3C trace), by the acting
    `party`, by `action` and `outcome`, by the processing `activity` of the register the event served
    (art. 15), and by the period `occurred_from` (inclusive) to `occurred_until`.
    Further pages are linked from the `Link` header (`rel="next"`).
    """
    page = auditlog_service.review_events(tx, purpose=tx.purpose, client_id=client_id,
                                          pseudonym=pseudonym, actor_id=actor_id, trace_id=trace_id,
                                          party=party, action=action, outcome=outcome,
                                          occurred_from=occurred_from, occurred_until=occurred_until,
                                          before=before, limit=limit, activity=activity)
    if page.next_before is not None:
        response.headers["Link"] = next_link(request, before=page.next_before)
    return page.items


@router.get("/events/{event_id}/proof", response_model=InclusionProofRead,
            responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def event_proof(event_id: uuid.UUID, tx: Tx) -> dict:
    """The inclusion proof of one audit event in the latest signed checkpoint.

    For a privacy officer of the party whose staff member acted, or of the controller (purpose
    `oversight` or `subject_rights`); any other event is 404. 409 while no checkpoint covers the
    event yet (the trail is sealed in batches).
    """
    return auditlog_service.event_proof(tx, event_id=event_id, purpose=tx.purpose)


@router.get("/checkpoints/latest", response_model=LatestCheckpointRead, responses=problem_responses(404))
def latest_checkpoint(request: Request, response: Response) -> dict:
    """The newest signed checkpoint of the trail and the public key that verifies it. Public, like a
    key set: it holds a count, a hash and a time, no personal data, so it is not audited."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return auditlog_service.latest_checkpoint(request.app.state.runtime)


@router.get("/checkpoints/consistency", response_model=ConsistencyProofRead,
            responses=problem_responses(404, 409, 422, 429))
def checkpoint_consistency(request: Request, response: Response,
                           first: Annotated[int, Query(ge=1, description="The size of the older checkpoint")],
                           second: Annotated[int, Query(ge=1, description="The size of the newer checkpoint")]
                           ) -> dict:
    """The consistency proof that the checkpoint of `second` events extends the one of `first` (RFC 9162
    section 2.1.4): a witness holding the older checkpoint checks that the trail has only grown since.

    Public, like the latest checkpoint: hashes only, not audited. Both sizes must be those of stored
    checkpoints (404 otherwise). Proofs never change, so the answer may be cached; computing them is
    limited per gateway instance (429 with `Retry-After`).
    """
    proof = auditlog_service.checkpoint_consistency(request.app.state.runtime, first=first, second=second)
    response.headers["Cache-Control"] = "public, max-age=86400, immutable"
    return proof
