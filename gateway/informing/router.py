"""HTTP routes of the duty to inform (art. 10). Thin: parse, call one service function, map the result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from gateway.deps import Tx
from gateway.informing import service as informing_service
from gateway.informing.schemas import InformedCreate, InformedRead, TaskRead
from gateway.schemas import problem_responses

router = APIRouter(tags=["informing"])


@router.post("/v1/clients/{client_id}/informed", status_code=status.HTTP_201_CREATED, response_model=InformedRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def record_informed(client_id: uuid.UUID, body: InformedCreate, tx: Tx) -> informing_service.InformedView:
    """The client's own client manager (scope `team:manage`, purpose `case_management`) records that the
    client was informed (art. 10), how, and by whom (the caller); once: 409 when recorded already. Closes
    the client's open tasks."""
    return informing_service.record_informed(tx, client_id, purpose=tx.purpose, how=body.how.value,
                                             informed_at=body.informed_at)


@router.get("/v1/tasks", response_model=list[TaskRead], responses=problem_responses(400, 401, 403, 422, 503))
def list_tasks(tx: Tx, closed: bool = False) -> list[informing_service.TaskView]:
    """The caller's tasks as client manager (scope `team:manage`, purpose `case_management`), oldest first;
    `closed=true` includes closed ones."""
    return informing_service.list_tasks(tx, purpose=tx.purpose, include_closed=closed)
