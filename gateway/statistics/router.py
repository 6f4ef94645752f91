"""HTTP routes for the controller's statistics decision and the de-identified extract (art. 9.4-9.5).
Thin: parse, call one service function. The extract's route names no client: it is the controller's
statistics, outside the client-facing API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from gateway.deps import Tx
from gateway.schemas import problem_responses
from gateway.statistics import service as statistics_service
from gateway.statistics.schemas import StatisticsDecisionRead

router = APIRouter(tags=["statistics"])

_FORMAT = Query(description="`json` (the default) or `csv` (text/csv)")


@router.post("/v1/clients/{client_id}/statistics-decision", status_code=201, response_model=StatisticsDecisionRead,
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


@router.get("/v1/statistics/extract", responses={200: {"content": {"application/json": {}, "text/csv": {}},
                                                       "description": "The extract"},
                                                 **problem_responses(400, 401, 403, 422, 503)})
def statistics_extract(tx: Tx, format: Annotated[Literal["json", "csv"], _FORMAT] = "json") -> Any:
    """The de-identified extract kept for statistics (art. 9.4-9.5): one row per destroyed client the
    controller decided on, each in a group of at least `k` clients with the same (generalised) quarters
    and party kinds; no id, pseudonym, name, BSN, free text or exact date.

    The controller's field directors (`reports:read`, purpose `statistics`); recorded as `statistics.export`.
    """
    document = statistics_service.read_extract(tx, purpose=tx.purpose, export_format=format)
    if format == "csv":
        return Response(statistics_service.extract_to_csv(document), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="statistics-extract.csv"'})
    return document
