"""HTTP route for what partner systems report about a client. Thin: parse, call one service function."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body

from gateway.deps import Tx
from gateway.events import service as events_service
from gateway.events.schemas import ContactEvent, EventCreate, EventRecorded
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/clients/{client_id}/events", tags=["events"])


@router.post("", status_code=201, response_model=EventRecorded,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def report_event(client_id: uuid.UUID, body: Annotated[EventCreate, Body()], tx: Tx) -> EventRecorded:
    """A partner system reports a contact with the client (art. 9.3) or a deletion at its source.

    Needs a token of the system itself (`client_credentials`, scope `events:write`) and a party that is
    or has been in the client's care team.
    """
    if isinstance(body, ContactEvent):
        event_id = events_service.record_contact(tx, client_id, purpose=tx.purpose, on=body.date)
        return EventRecorded(id=event_id, type=body.type)
    event_id, destroyed = events_service.record_source_deletion(tx, client_id, purpose=tx.purpose,
                                                                source_reference=body.source_reference)
    return EventRecorded(id=event_id, type=body.type, entries_destroyed=destroyed)
