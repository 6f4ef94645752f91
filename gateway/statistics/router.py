"""HTTP route for the controller's statistics decision (art. 9.4-9.5). Thin: parse, call one service
function. There is no route that reads the extract: it is for the controller's statistics, outside the
client-facing API."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from gateway.deps import Tx
from gateway.schemas import problem_responses
from gateway.statistics import service as statistics_service
from gateway.statistics.schemas import StatisticsDecisionRead

router = APIRouter(prefix="/v1/clients/{client_id}/statistics-decision", tags=["statistics"])


@router.post("", status_code=201, response_model=StatisticsDecisionRead,
             responses=problem_responses(400, 401, 403, 404, 409, 422, 503))
def decide_statistics(client_id: uuid.UUID, tx: Tx, response: Response) -> StatisticsDecisionRead:
    """The controller decides to keep a de-identified extract of the client when its file is destroyed.

    A field director of the controller's party (`team:manage`, purpose `statistics`), before the client's
    retention term ends (409 after); 200 when the decision had been recorded before.
    """
    view = statistics_service.decide_statistics(tx, client_id, purpose=tx.purpose)
    if view.already:
        response.status_code = 200
    return StatisticsDecisionRead(id=view.id, client_id=view.client_id, term_ends_on=view.term_ends_on,
                                  decided_at=view.decided_at, already=view.already)
