"""HTTP route for the monthly report (Instrument 2). Thin: parse, call one service function."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from gateway.deps import Tx
from gateway.reports import service as reports_service
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_FORMAT = Query(description="`json` (the default) or `markdown` (text/markdown)")
_MONTH = Query(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="The calendar month, `YYYY-MM`, in the covenant's "
                                                                 "time zone; not one that has not begun")


@router.get("/monthly", responses={200: {"content": {"application/json": {}, "text/markdown": {}},
                                         "description": "The report"},
                                   **problem_responses(400, 401, 403, 422, 503)})
def monthly_report(tx: Tx, month: Annotated[str, _MONTH],
                   format: Annotated[Literal["json", "markdown"], _FORMAT] = "json") -> Any:
    """The monthly progress report for the coordination point: counts per party and client status
    (clients in the approach, intakes and care plans in time, open and late rights requests), each count
    below the covenant's threshold shown as `<5` and not derivable from the totals; no personal data.

    The controller's field directors (`reports:read`, purpose `accountability`); recorded as `report.monthly`.
    """
    report = reports_service.monthly_report(tx, month=month, purpose=tx.purpose, export_format=format)
    if format == "markdown":
        return Response(reports_service.to_markdown(report), media_type="text/markdown; charset=utf-8")
    return report
