"""HTTP routes of clients' rights requests and their notifications. Thin: parse, call one service
function, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status

from gateway.deps import Tx
from gateway.rights import service as rights_service
from gateway.rights.schemas import (CarryOut, CorrectionCreate, DecisionCreate, NotificationRead, ObjectionCreate,
                                    QueueItemRead, RequestCreate, RequestRead, Reversal)
from gateway.schemas import problem_responses

router = APIRouter(tags=["rights"])

_CLIENT = "/v1/clients/{client_id}/requests"
_ONE = _CLIENT + "/{request_id}"
_STEP = problem_responses(400, 401, 403, 404, 409, 422, 503)


@router.post(_CLIENT, status_code=status.HTTP_201_CREATED, response_model=RequestRead, responses=_STEP)
def record_request(client_id: uuid.UUID, body: Annotated[RequestCreate, Body()], tx: Tx,
                   response: Response) -> rights_service.RequestView:
    """Record a client's access, correction or objection request (scope `requests:handle`, purpose
    `subject_rights`; the client's own client manager). 201 with the request and its `decision_due`."""
    view = rights_service.record_request(
        tx, client_id, purpose=tx.purpose, kind=body.kind, received_at=body.received_at,
        entry_id=body.entry_id if isinstance(body, CorrectionCreate) else None,
        correction=body.correction if isinstance(body, CorrectionCreate) else None,
        statement=(body.statement if isinstance(body, CorrectionCreate)
                   else body.grounds if isinstance(body, ObjectionCreate) else None))
    response.headers["Location"] = f"{_CLIENT.format(client_id=client_id)}/{view.id}"
    return view


@router.get(_CLIENT, response_model=list[RequestRead], responses=problem_responses(400, 401, 403, 404, 422, 503))
def list_requests(client_id: uuid.UUID, tx: Tx) -> list[rights_service.RequestView]:
    """The client's requests, oldest received first."""
    return rights_service.list_requests(tx, client_id, purpose=tx.purpose)


@router.get(_ONE, response_model=RequestRead, responses=problem_responses(400, 401, 403, 404, 422, 503))
def read_request(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx) -> rights_service.RequestView:
    """One request, with its deadlines, decision and notifications."""
    return rights_service.read_request(tx, client_id, request_id, purpose=tx.purpose)


@router.post(_ONE + "/review", response_model=RequestRead, responses=_STEP)
def review_request(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx) -> rights_service.RequestView:
    """received -> in_review. 409 from any other status."""
    return rights_service.review_request(tx, client_id, request_id, purpose=tx.purpose)


@router.post(_ONE + "/decision", response_model=RequestRead, responses=_STEP)
def decide_request(client_id: uuid.UUID, request_id: uuid.UUID, body: DecisionCreate,
                   tx: Tx) -> rights_service.RequestView:
    """in_review -> decided, with an outcome and reasons; late when after `decision_due`. An objection
    found justified stops processing of the client's data; a correction granted gets `execution_due`."""
    return rights_service.decide_request(tx, client_id, request_id, purpose=tx.purpose, outcome=body.outcome,
                                         reasons=body.reasons, correction=body.correction)


@router.post(_ONE + "/carry-out", response_model=RequestRead, responses=_STEP)
def carry_out(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx,
              body: Annotated[CarryOut | None, Body()] = None) -> rights_service.RequestView:
    """decided -> carried_out, for a granted correction: the entry improved, completed, deleted or
    shielded; the superseded content destroyed; the parties that received it notified."""
    return rights_service.carry_out(tx, client_id, request_id, purpose=tx.purpose,
                                    content=body.content if body else None)


@router.post(_ONE + "/close", response_model=RequestRead, responses=_STEP)
def close_request(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx) -> rights_service.RequestView:
    """decided (nothing to carry out) or carried_out -> closed."""
    return rights_service.close_request(tx, client_id, request_id, purpose=tx.purpose)


@router.post(_ONE + "/withdraw", response_model=RequestRead, responses=_STEP)
def withdraw_request(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx) -> rights_service.RequestView:
    """received, in_review or decided -> withdrawn; a justified objection withdrawn restarts processing."""
    return rights_service.withdraw_request(tx, client_id, request_id, purpose=tx.purpose)


@router.post(_ONE + "/reversal", response_model=RequestRead, responses=_STEP)
def reverse_decision(client_id: uuid.UUID, request_id: uuid.UUID, body: Reversal,
                     tx: Tx) -> rights_service.RequestView:
    """Reverse a justified objection's decision, with reasons: processing of the client's data restarts."""
    return rights_service.reverse_decision(tx, client_id, request_id, purpose=tx.purpose, reasons=body.reasons)


@router.get(_ONE + "/copy", responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def produce_copy(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx) -> dict[str, Any]:
    """An access request's copy for the client (art. 11-12), as JSON: the client's summary, team and
    entries, entries withheld on a confidentiality ground named with the ground, and which parties
    read the file on which days."""
    return rights_service.produce_copy(tx, client_id, request_id, purpose=tx.purpose)


_LANGUAGE = Query(description="The letter's language: Dutch (nl, the default) or English (en)")
_PDF = {200: {"content": {"application/pdf": {}}, "description": "The PDF, as an attachment"},
        **problem_responses(400, 401, 403, 404, 409, 422, 503)}


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A PDF for the client, as a download; its name carries ids only (no personal data). ``no-store``
    comes with every answer of the gateway."""
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@router.get(_ONE + "/letter", response_class=Response, responses=_PDF)
def decision_letter(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx,
                    language: Annotated[Literal["nl", "en"], _LANGUAGE] = "nl") -> Response:
    """The written, reasoned decision to the client as PDF (art. 13.2), recorded as `request.letter`.
    409 before the request is decided."""
    pdf = rights_service.produce_letter(tx, client_id, request_id, purpose=tx.purpose, language=language)
    return pdf_response(pdf, f"decision-{request_id}-{language}.pdf")


@router.get(_ONE + "/copy.pdf", response_class=Response, responses=_PDF)
def produce_copy_pdf(client_id: uuid.UUID, request_id: uuid.UUID, tx: Tx,
                     language: Annotated[Literal["nl", "en"], _LANGUAGE] = "nl") -> Response:
    """The access copy as a printable PDF for the client: the same content as `/copy`, recorded as
    `client.export` with `format` `pdf`."""
    pdf = rights_service.produce_copy_pdf(tx, client_id, request_id, purpose=tx.purpose, language=language)
    return pdf_response(pdf, f"access-copy-{request_id}-{language}.pdf")


@router.get("/v1/requests", response_model=list[QueueItemRead], responses=problem_responses(400, 401, 403, 422, 503))
def request_queue(tx: Tx) -> list[rights_service.QueueItem]:
    """The calling client manager's open requests over their clients, soonest due first, flagged
    `due_soon` (within `GATEWAY_REQUESTS_DUE_SOON_DAYS`) and `late`."""
    return rights_service.queue(tx, purpose=tx.purpose)


@router.get("/v1/notifications", response_model=list[NotificationRead],
            responses=problem_responses(400, 401, 403, 422, 503))
def list_notifications(tx: Tx, pending: Annotated[bool | None, Query(description=(
        "true: only those not yet acknowledged; false: only those acknowledged"))] = None) -> list:
    """GDPR art. 19: corrections of content the caller's party received (scope `notifications:read`);
    for a party's system or staff."""
    return rights_service.list_notifications(tx, purpose=tx.purpose, pending=pending)


@router.post("/v1/notifications/{notification_id}/acknowledge", response_model=NotificationRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def acknowledge_notification(notification_id: uuid.UUID, tx: Tx) -> rights_service.NotificationView:
    """The party has corrected its own copy. 409 when already acknowledged."""
    return rights_service.acknowledge_notification(tx, notification_id, purpose=tx.purpose)
