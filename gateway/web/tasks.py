"""The client managers' tasks page (art. 10, the duty to inform), no JavaScript.

A client is told of the processing before the intake; until the client manager records that moment, an
intake-form section is refused, and a partner's entry arriving first raises an ``inform_client`` task
for the client manager. This page lists those open tasks and the manager's clients not yet informed,
each with a form to record when and how the client was informed, which closes the client's tasks.

No second workflow: the page and the form call the same service functions as ``GET /v1/tasks`` and
``POST /v1/clients/{id}/informed`` (:mod:`gateway.informing.service`), which decide their own action
(``covenant.decide``: ``task.list`` and ``client.inform``, purpose ``case_management``) and record the
attempt, refusals included; the UI only parses the form. A POST without the session's CSRF token is
refused and recorded and changes nothing (:func:`gateway.web.views.form`). Clients are shown by pseudonym.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gateway.clients import service as clients_service
from gateway.errors import BadRequest
from gateway.informing import service as informing_service
from gateway.transaction import Transaction
from gateway.web.sessions import UiSession
from gateway.web.views import _page, form, rejected_form

router = APIRouter(prefix="/ui", include_in_schema=False)

CASE_MANAGEMENT = "case_management"
_HOW = [str(how) for how in informing_service.How]


def _invalid(tx: Transaction, message: str) -> BadRequest:
    return rejected_form(tx, message, purpose=CASE_MANAGEMENT)


@router.get("/tasks", name="ui_tasks")
def tasks(request: Request) -> Response:
    """The manager's open tasks, oldest first, and their clients not yet informed."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        items = informing_service.list_tasks(tx, purpose=CASE_MANAGEMENT)
        page = clients_service.list_clients(tx, purpose=CASE_MANAGEMENT, limit=clients_service.MAX_PAGE)
        own = [client for client in page.items if client.client_manager_id == tx.actor.staff_id]
        pseudonyms = {client.id: client.pseudonym for client in page.items}
        parties = tx.covenant.parties
        rows = [{"task": task, "pseudonym": pseudonyms.get(task.client_id) or tx.client_facts(task.client_id).pseudonym,
                 "party": parties[task.source_party].name if task.source_party in parties else task.source_party}
                for task in items]
        return {"tasks": rows, "uninformed": [client for client in own if client.informed_at is None],
                "how": _HOW, "today": tx.today.isoformat(), "done": request.query_params.get("done")}

    return _page(request, work, "tasks.html")


@router.post("/clients/{client_id}/informed", name="ui_client_informed")
def informed(request: Request, client_id: uuid.UUID, how: Annotated[str, Form(max_length=20)] = "",
             informed_on: Annotated[str, Form(max_length=20)] = "",
             csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Record that the client was informed: today (now) unless an earlier day is given, which counts
    from the beginning of that day in the covenant's time zone."""

    def work(tx: Transaction, session: UiSession) -> Response:
        if how not in _HOW:
            raise _invalid(tx, "choose how the client was informed")
        moment = None
        if informed_on.strip():
            try:
                day = dt.date.fromisoformat(informed_on.strip())
            except ValueError:
                raise _invalid(tx, "the day the client was informed is a date such as 2026-11-23") from None
            if day > tx.today:
                raise _invalid(tx, "the client cannot have been informed on a day still to come")
            moment = None if day == tx.today else tx.start_of(day)
        informing_service.record_informed(tx, client_id, purpose=CASE_MANAGEMENT, how=how, informed_at=moment)
        return RedirectResponse(f"{request.url_for('ui_tasks')}?done=informed", status_code=303)

    return form(request, csrf_token, work)
