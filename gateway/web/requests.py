"""The client managers' pages: clients' rights requests (art. 11-14) in the web UI, no JavaScript.

The queue of the manager's open requests, soonest due first, with its deadlines and the marks "due
soon" and "late" in words (not colour only); a request's page with its state, deadlines and history
and a form for each step it can take next; the form to record a new request; and the decision letter
and the access copy as PDF downloads; and the deadline notices (reminders, escalations) addressed to
the signed-in staff member, each with a form to dismiss it.

No second workflow: each page and form calls the same service function as the API route
(:mod:`gateway.rights.service`), which decides on its own action (``covenant.decide``: the client's own
client manager, purpose ``subject_rights``) and records the attempt, refusals and illegal steps
included; the UI only parses the form. A POST without the session's CSRF token is refused and
recorded and changes nothing (:func:`gateway.web.views.form`). The pages show the client by
pseudonym and the request by id; the client's statement and the reasons appear on the request's own
page, to its client manager, as the API's answer holds them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from covenant import Role
from gateway.clients import service as clients_service
from gateway.errors import BadRequest, GatewayError
from gateway.records import service as records_service
from gateway.rights import deadlines
from gateway.rights import service as rights_service
from gateway.rights.letters import LANGUAGES
from gateway.rights.models import Correction, Kind, Status
from gateway.rights.router import pdf_response
from gateway.transaction import Transaction
from gateway.web.sessions import UiSession
from gateway.web.views import SUBJECT_RIGHTS, _page, form, rejected_form

router = APIRouter(prefix="/ui", include_in_schema=False)

_TEXT = rights_service.MAX_TEXT
_CORRECTIONS = [str(correction) for correction in Correction]
# What the manager can do next, by status (the service still decides whether it may happen).
_STEPS = {
    Status.RECEIVED: ("review", "withdraw"),
    Status.IN_REVIEW: ("decide", "withdraw"),
    Status.DECIDED: ("carry-out", "close", "withdraw"),
    Status.CARRIED_OUT: ("close",),
}


def _invalid(tx: Transaction, message: str) -> BadRequest:
    return rejected_form(tx, message, purpose=SUBJECT_RIGHTS)


def _uuid(tx: Transaction, value: str | None, name: str) -> uuid.UUID:
    try:
        return uuid.UUID((value or "").strip())
    except ValueError:
        raise _invalid(tx, f"choose {name}") from None


def _language(tx: Transaction, request: Request) -> str:
    language = request.query_params.get("language") or "nl"
    if language not in LANGUAGES:
        raise _invalid(tx, f"letters are written in {' or '.join(LANGUAGES)}")
    return language


def _own_clients(tx: Transaction) -> list[clients_service.ClientView]:
    """The clients the signed-in staff member is client manager of (requests are theirs to record)."""
    page = clients_service.list_clients(tx, purpose=SUBJECT_RIGHTS, limit=clients_service.MAX_PAGE)
    return [client for client in page.items if client.client_manager_id == tx.actor.staff_id]


def _request_url(request: Request, client_id: uuid.UUID, request_id: uuid.UUID, done: str | None = None) -> str:
    url = str(request.url_for("ui_request", client_id=client_id, request_id=request_id))
    return f"{url}?done={done}" if done else url


@router.get("/requests", name="ui_requests")
def queue(request: Request) -> Response:
    """The manager's open requests over all their clients, soonest due first."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        items = rights_service.queue(tx, purpose=SUBJECT_RIGHTS)
        return {"items": items, "clients": _own_clients(tx), "kinds": [str(kind) for kind in Kind],
                "due_soon_days": tx.runtime.settings.requests_due_soon_days, "today": tx.today}

    return _page(request, work, "requests.html")


@router.get("/requests/new", name="ui_request_new")
def new_request(request: Request) -> Response:
    """The form to record a client's request; for a correction, the entries of the client's file to
    choose from (listed as the API lists them to the manager, and recorded so)."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        client_id = _uuid(tx, request.query_params.get("client"), "a client")
        kind = request.query_params.get("kind") or Kind.ACCESS
        if kind not in list(Kind):
            raise _invalid(tx, "choose access, correction or objection")
        pseudonym = tx.client_facts(client_id).pseudonym
        entries = []
        if kind == Kind.CORRECTION:
            entries = records_service.list_entries(tx, client_id, purpose=SUBJECT_RIGHTS,
                                                   limit=records_service.MAX_PAGE).items
        return {"client_id": client_id, "pseudonym": pseudonym, "kind": kind, "entries": entries,
                "corrections": _CORRECTIONS, "today": tx.today.isoformat(), "max_text": _TEXT}

    return _page(request, work, "request_new.html")


@router.post("/requests/new", name="ui_request_record")
def record_request(request: Request, client: Annotated[str, Form(max_length=40)] = "",
                   kind: Annotated[str, Form(max_length=20)] = "",
                   received_at: Annotated[str, Form(max_length=20)] = "",
                   entry_id: Annotated[str, Form(max_length=40)] = "",
                   correction: Annotated[str, Form(max_length=20)] = "",
                   statement: Annotated[str, Form(max_length=_TEXT)] = "",
                   csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    def work(tx: Transaction, session: UiSession) -> Response:
        client_id = _uuid(tx, client, "a client")
        if kind not in list(Kind):
            raise _invalid(tx, "choose access, correction or objection")
        try:
            received = dt.date.fromisoformat(received_at) if received_at.strip() else None
        except ValueError:
            raise _invalid(tx, "the day received is a date such as 2026-11-23") from None
        text = statement.strip() or None
        entry = None
        if kind == Kind.CORRECTION:
            entry = _uuid(tx, entry_id, "the entry to correct")
            if correction not in _CORRECTIONS or text is None:
                raise _invalid(tx, "a correction says what to do with the entry and what the client says")
        elif kind == Kind.OBJECTION and text is None:
            raise _invalid(tx, "an objection states the client's grounds")
        view = rights_service.record_request(
            tx, client_id, purpose=SUBJECT_RIGHTS, kind=kind, received_at=received, entry_id=entry,
            correction=correction if kind == Kind.CORRECTION else None,
            statement=text if kind != Kind.ACCESS else None)
        return RedirectResponse(_request_url(request, client_id, view.id, "recorded"), status_code=303)

    return form(request, csrf_token, work)


def _history(view: rights_service.RequestView) -> list[tuple[dt.datetime, str]]:
    late = " (late)" if view.decided_on is not None and view.decided_on > view.decision_due else ""
    moments = [(view.recorded_at, "recorded"), (view.reviewed_at, "taken into review"),
               (view.copy_produced_at, "copy produced"), (view.decided_at, f"decided: {view.outcome}{late}"),
               (view.carried_out_at, f"carried out: {view.carry_out}"), (view.closed_at, "closed"),
               (view.withdrawn_at, "withdrawn"), (view.reversed_at, "decision reversed")]
    return sorted((moment, what) for moment, what in moments if moment is not None)


def _current_content(tx: Transaction, view: rights_service.RequestView) -> str | None:
    """An entry to improve: its content as it stands, to start the corrected content from. Read as
    the API reads it to the client manager (decided and recorded as ``record.read``); nothing when
    that is refused or the entry is gone."""
    if view.carry_out != Correction.IMPROVE or view.entry_id is None:
        return None
    try:
        entry = records_service.read_entry(tx, view.client_id, view.entry_id, purpose=SUBJECT_RIGHTS)
    except GatewayError:
        return None
    return json.dumps(entry.content, ensure_ascii=False, indent=1)


@router.get("/requests/{client_id}/{request_id}", name="ui_request")
def request_page(request: Request, client_id: uuid.UUID, request_id: uuid.UUID) -> Response:
    """One request: its state, deadlines and history, the forms of its next steps, its documents."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        view = rights_service.read_request(tx, client_id, request_id, purpose=SUBJECT_RIGHTS)
        steps = list(_STEPS.get(Status(view.status), ()))
        if view.status == Status.DECIDED:
            steps.remove("close" if view.carry_out else "carry-out")
        return {"view": view, "pseudonym": tx.client_facts(client_id).pseudonym, "steps": steps,
                "current": _current_content(tx, view) if "carry-out" in steps else None,
                "history": _history(view), "outcomes": [str(o) for o in rights_service.OUTCOMES[Kind(view.kind)]],
                "corrections": _CORRECTIONS, "languages": LANGUAGES, "max_text": _TEXT,
                "copy": view.kind == Kind.ACCESS and view.status in (Status.IN_REVIEW, Status.DECIDED),
                "letter": view.outcome is not None, "done": request.query_params.get("done")}

    return _page(request, work, "request.html")


def _step(request: Request, client_id: uuid.UUID, request_id: uuid.UUID, csrf_token: str, name: str,
          call) -> Response:
    def work(tx: Transaction, session: UiSession) -> Response:
        call(tx)
        return RedirectResponse(_request_url(request, client_id, request_id, name), status_code=303)

    return form(request, csrf_token, work)


_Csrf = Annotated[str, Form(max_length=100)]


@router.post("/requests/{client_id}/{request_id}/review", name="ui_request_review")
def review(request: Request, client_id: uuid.UUID, request_id: uuid.UUID, csrf_token: _Csrf = "") -> Response:
    return _step(request, client_id, request_id, csrf_token, "review", lambda tx: rights_service.review_request(
        tx, client_id, request_id, purpose=SUBJECT_RIGHTS))


@router.post("/requests/{client_id}/{request_id}/decide", name="ui_request_decide")
def decide(request: Request, client_id: uuid.UUID, request_id: uuid.UUID,
           outcome: Annotated[str, Form(max_length=20)] = "", reasons: Annotated[str, Form(max_length=_TEXT)] = "",
           correction: Annotated[str, Form(max_length=20)] = "", csrf_token: _Csrf = "") -> Response:
    def call(tx: Transaction) -> None:
        if not outcome or not reasons.strip():
            raise _invalid(tx, "choose the outcome and write the reasons: the letter gives them to the client")
        if correction and correction not in _CORRECTIONS:
            raise _invalid(tx, "choose what the correction will do")
        rights_service.decide_request(tx, client_id, request_id, purpose=SUBJECT_RIGHTS, outcome=outcome,
                                      reasons=reasons.strip(), correction=correction or None)

    return _step(request, client_id, request_id, csrf_token, "decide", call)


@router.post("/requests/{client_id}/{request_id}/carry-out", name="ui_request_carry_out")
def carry_out(request: Request, client_id: uuid.UUID, request_id: uuid.UUID,
              content: Annotated[str, Form(max_length=20_000)] = "", csrf_token: _Csrf = "") -> Response:
    def call(tx: Transaction) -> None:
        fields = None
        if content.strip():
            try:
                fields = json.loads(content)
            except ValueError:
                fields = None
            if not isinstance(fields, dict):
                raise _invalid(tx, "the content is the entry's fields as a JSON object, such as {\"text\": \"...\"}")
        rights_service.carry_out(tx, client_id, request_id, purpose=SUBJECT_RIGHTS, content=fields)

    return _step(request, client_id, request_id, csrf_token, "carry-out", call)


@router.post("/requests/{client_id}/{request_id}/withdraw", name="ui_request_withdraw")
def withdraw(request: Request, client_id: uuid.UUID, request_id: uuid.UUID, csrf_token: _Csrf = "") -> Response:
    return _step(request, client_id, request_id, csrf_token, "withdraw", lambda tx: rights_service.withdraw_request(
        tx, client_id, request_id, purpose=SUBJECT_RIGHTS))


@router.post("/requests/{client_id}/{request_id}/close", name="ui_request_close")
def close(request: Request, client_id: uuid.UUID, request_id: uuid.UUID, csrf_token: _Csrf = "") -> Response:
    return _step(request, client_id, request_id, csrf_token, "close", lambda tx: rights_service.close_request(
        tx, client_id, request_id, purpose=SUBJECT_RIGHTS))


@router.get("/requests/{client_id}/{request_id}/letter.pdf", name="ui_request_letter")
def letter(request: Request, client_id: uuid.UUID, request_id: uuid.UUID) -> Response:
    """The decision letter, as the API gives it (recorded as ``request.letter``)."""

    def work(tx: Transaction, session: UiSession) -> Response:
        language = _language(tx, request)
        pdf = rights_service.produce_letter(tx, client_id, request_id, purpose=SUBJECT_RIGHTS, language=language)
        return pdf_response(pdf, f"decision-{request_id}-{language}.pdf")

    return _page(request, work)


@router.get("/requests/{client_id}/{request_id}/copy.pdf", name="ui_request_copy")
def copy(request: Request, client_id: uuid.UUID, request_id: uuid.UUID) -> Response:
    """The client's access copy as PDF, as the API gives it (recorded as ``client.export``)."""

    def work(tx: Transaction, session: UiSession) -> Response:
        language = _language(tx, request)
        pdf = rights_service.produce_copy_pdf(tx, client_id, request_id, purpose=SUBJECT_RIGHTS, language=language)
        return pdf_response(pdf, f"access-copy-{request_id}-{language}.pdf")

    return _page(request, work)


# ----- deadline notices ------------------------------------------------------------------------------


@router.get("/notices", name="ui_notices")
def notices(request: Request) -> Response:
    """The reminders and escalations addressed to the signed-in staff member (art. 13-14 deadlines):
    the client managers' reminders before a deadline, and the escalations to them and to the
    controller's privacy officers once one has passed; each stays until it is dismissed."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        items = deadlines.open_notices(tx, purpose=SUBJECT_RIGHTS)  # decides, and so learns the roles
        return {"notices": items, "manager": Role.CLIENT_MANAGER in tx.actor.subject.roles}

    return _page(request, work, "notices.html")


@router.post("/notices/{notice_id}/dismiss", name="ui_notice_dismiss")
def dismiss(request: Request, notice_id: uuid.UUID, csrf_token: _Csrf = "") -> Response:
    def work(tx: Transaction, session: UiSession) -> Response:
        deadlines.dismiss_notice(tx, notice_id, purpose=SUBJECT_RIGHTS)
        return RedirectResponse(str(request.url_for("ui_notices")), status_code=303)

    return form(request, csrf_token, work)
