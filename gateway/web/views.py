"""The privacy officers' web UI: server-rendered pages under ``/ui``, no JavaScript.

Every page is a unit of work like an API request: the service decides (``covenant.decide``,
``audit.read`` for the purpose ``oversight``: only privacy officers) and records the view, permit or
refusal, and the unit commits before the page leaves. Signing in and out are decided the same way and
recorded as ``ui.sign_in`` and ``ui.sign_out``; an export as ``audit.export``.

Sign-in: in demo mode a local page lists the demo staff to choose from. Outside demo mode that page
does not exist (404) and sign-in is meant to go through the party's OpenID Connect provider; that
client is not built yet. Its seam: an OIDC callback that has verified the ID token calls
:func:`start_session` with the staff member's id, as the demo's sign-in form does.

The pages show what the trail holds, ids, pseudonyms and codes, and nothing from a client's file.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
import uuid
from pathlib import Path
from typing import Annotated, Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from audit import AuditAction, AuditEvent, Outcome
from covenant import Action, Resource
from gateway.auditlog import service as auditlog_service
from gateway.auditlog.schemas import AuditEventRead
from gateway.auditlog.service import EventFilter
from gateway.deps import access_point
from gateway.emergency import service as emergency_service
from gateway.errors import BadRequest, GatewayError, NotFound, Unauthenticated
from gateway.parties.models import Staff
from gateway.runtime import Runtime
from gateway.transaction import Actor, Transaction
from gateway.web.sessions import SessionCodec, UiSession
from gateway.web.trail import TrailStatus

OVERSIGHT = "oversight"
SOURCE_SYSTEM = "gateway-ui"
PAGE_SIZE = 50
VOLUME_THRESHOLD = 20
VOLUME_DAYS = 7
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CSV_FIELDS = ("seq", "id", "occurred_at", "action", "outcome", "reason", "actor_id", "actor_roles", "actor_party",
               "on_behalf_of", "client_pseudonym", "object_type", "object_id", "categories", "purpose", "authority",
               "covenant_version", "access_point", "source_system", "request_id", "traceparent", "prev_hash", "hash")
# The pages in the navigation, in order: (route name, label). A page built elsewhere (the review of
# break-the-glass access, for one) joins the UI by adding itself here.
NAVIGATION: list[tuple[str, str]] = [("ui_events", "Search the trail"), ("ui_denied", "Denied attempts"),
                                     ("ui_volume", "Unusual volume"), ("ui_emergency", "Break-the-glass review")]
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")

STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)


class Ui:
    """What the UI keeps for the life of the app: the session codec and the trail status, made on
    first use (building the app, e.g. for its OpenAPI document, touches neither keys nor database)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @functools.cached_property
    def sessions(self) -> SessionCodec:
        settings = self.runtime.settings
        return SessionCodec(settings.key_folder, secure=not settings.demo,
                            idle=dt.timedelta(seconds=settings.ui_idle_seconds))

    @functools.cached_property
    def trail(self) -> TrailStatus:
        return TrailStatus(self.runtime.engine)


def _ui(request: Request) -> Ui:
    return request.app.state.ui


def _transaction(request: Request, actor: Actor | None = None) -> Transaction:
    return Transaction(request.app.state.runtime, access_point=access_point(request),
                       request_id=getattr(request.state, "request_id", None), actor=actor)


def _local_time(runtime: Runtime, moment: dt.datetime) -> str:
    return moment.astimezone(runtime.settings.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
           session: UiSession | None = None) -> HTMLResponse:
    """A page with the trail status banner; its cookie renewed (the idle timeout starts again)."""
    ui = _ui(request)
    runtime = ui.runtime
    now = runtime.clock()
    check = ui.trail.current(now)
    response = templates.TemplateResponse(request, template, {
        "session": session if session is not None and session.staff_id else None,
        "csrf": session.csrf if session is not None else "",
        "trail": check.report if check else None,
        "trail_checked_at": _local_time(runtime, check.checked_at) if check else None,
        "navigation": NAVIGATION, "demo": runtime.settings.demo,
        "local_time": lambda moment: _local_time(runtime, moment), **context,
    }, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if session is not None:
        ui.sessions.attach(response, session.touched(now))
    return response


def error_page(request: Request, error: GatewayError, session: UiSession | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status": error.status_code, "title": error.title, "detail": error.detail},
                  status_code=error.status_code, session=session)


def _not_signed_in(request: Request, reason: str) -> Response:
    """No valid session: recorded like a request without a valid token; demo mode offers its sign-in page."""
    tx = _transaction(request)
    tx.record(AuditAction.AUTH_REJECTED, outcome=Outcome.DENY, reason=reason)
    tx.commit()
    ui = _ui(request)
    if ui.runtime.settings.demo:
        response: Response = RedirectResponse(request.url_for("ui_sign_in_form"), status_code=303)
    else:
        response = render(request, "sign_in_elsewhere.html", {}, status_code=401)
    return ui.sessions.clear(response)


def _page(request: Request, work: Callable[[Transaction, UiSession], Response | dict[str, Any]],
          template: str | None = None) -> Response:
    """Run one page's unit of work as the signed-in staff member, commit it, and answer.

    ``work`` returns a response, or the context of ``template``. A refusal (a GatewayError) commits
    the unit's events and answers an error page.
    """
    ui = _ui(request)
    session, why = ui.sessions.read(request, ui.runtime.clock())
    if session is None or session.staff_id is None:
        return _not_signed_in(request, why if session is None else "session_anonymous")
    tx = _transaction(request, Actor.staff_member(uuid.UUID(session.staff_id), SOURCE_SYSTEM))
    try:
        try:
            result = work(tx, session)
        except Unauthenticated:
            tx.abandon("unauthenticated")  # the staff member is gone: the session ends
            return _not_signed_in(request, "staff_unknown")
        except GatewayError as exc:
            tx.abandon(exc.slug)
            return error_page(request, exc, session)
        except Exception:
            tx.abandon("internal_error")
            raise
        tx.commit()
    finally:
        tx.close()
    if isinstance(result, Response):
        return ui.sessions.attach(result, session.touched(ui.runtime.clock()))
    return render(request, template, result, session=session)


def _csrf_refused(request: Request, tx: Transaction, session: UiSession | None) -> HTMLResponse:
    tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="csrf_invalid")
    tx.commit()
    error = GatewayError("the form has expired or did not come from this site; reload the page and try again")
    error.status_code, error.title = 403, "Form refused"
    return error_page(request, error, session)


def start_session(request: Request, response: Response, session: UiSession | None, staff_id: uuid.UUID) -> Response:
    """Attach a new signed-in session for ``staff_id`` (whose sign-in has been decided and recorded)."""
    ui = _ui(request)
    now = ui.runtime.clock()
    fresh = (session or UiSession.anonymous(now)).signed_in(str(staff_id), now)
    return ui.sessions.attach(response, fresh)


# ----- sign-in and sign-out -------------------------------------------------------------------------


@router.get("", name="ui_home")
@router.get("/", name="ui_home_slash")
def home(request: Request) -> Response:
    return RedirectResponse(request.url_for("ui_events"), status_code=303)


@router.get("/sign-in", name="ui_sign_in_form")
def sign_in_form(request: Request) -> Response:
    """Demo mode only: choose one of the staff to sign in as."""
    ui = _ui(request)
    if not ui.runtime.settings.demo:
        raise NotFound("sign-in goes through your party's identity provider")
    now = ui.runtime.clock()
    session, _ = ui.sessions.read(request, now)
    session = session or UiSession.anonymous(now)
    with ui.runtime.session() as db:
        staff = db.execute(select(Staff.handle, Staff.party_id, Staff.roles).where(Staff.active.is_(True))
                           .order_by(Staff.handle)).all()
    return render(request, "sign_in.html", {"staff": staff}, session=session)


@router.post("/sign-in", name="ui_sign_in")
def sign_in(request: Request, handle: Annotated[str, Form(max_length=100)],
            csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    ui = _ui(request)
    if not ui.runtime.settings.demo:
        raise NotFound("sign-in goes through your party's identity provider")
    session, _ = ui.sessions.read(request, ui.runtime.clock())
    if session is None or not session.csrf_matches(csrf_token):
        return _csrf_refused(request, _transaction(request), session)
    with ui.runtime.session() as db:
        staff_id = db.scalar(select(Staff.id).where(Staff.handle == handle))
    if staff_id is None:
        tx = _transaction(request)
        tx.record(AuditAction.UI_SIGN_IN, outcome=Outcome.DENY, reason="staff_unknown", purpose=OVERSIGHT)
        tx.commit()
        error = GatewayError("no staff member has this handle")
        error.status_code, error.title = 403, "Not permitted"
        return error_page(request, error, session)
    tx = _transaction(request, Actor.staff_member(staff_id, SOURCE_SYSTEM))
    try:
        decision = tx.authorize(Action.AUDIT_READ, Resource(), purpose=OVERSIGHT, audit_action=AuditAction.UI_SIGN_IN,
                                object_type="ui_session")
        tx.commit()
    finally:
        tx.close()
    if not decision.allowed:
        return error_page(request, tx.refuse(decision), session)
    return start_session(request, RedirectResponse(request.url_for("ui_events"), status_code=303), session, staff_id)


@router.post("/sign-out", name="ui_sign_out")
def sign_out(request: Request, csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    ui = _ui(request)
    session, why = ui.sessions.read(request, ui.runtime.clock())
    if session is None or session.staff_id is None:
        return _not_signed_in(request, why if session is None else "session_anonymous")
    tx = _transaction(request, Actor.staff_member(uuid.UUID(session.staff_id), SOURCE_SYSTEM))
    try:
        if not session.csrf_matches(csrf_token):
            return _csrf_refused(request, tx, session)
        try:
            # Recorded whatever the decision: the session ends either way.
            tx.authorize(Action.AUDIT_READ, Resource(), purpose=OVERSIGHT, audit_action=AuditAction.UI_SIGN_OUT,
                         object_type="ui_session")
        except Unauthenticated:
            pass  # the staff member is gone; the rejection is recorded
        tx.commit()
    finally:
        tx.close()
    target = "ui_sign_in_form" if ui.runtime.settings.demo else "ui_signed_out"
    return ui.sessions.clear(RedirectResponse(request.url_for(target), status_code=303))


@router.get("/signed-out", name="ui_signed_out")
def signed_out(request: Request) -> Response:
    return render(request, "sign_in_elsewhere.html", {"signed_out": True})


# ----- the trail ------------------------------------------------------------------------------------


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _day(value: str | None, name: str) -> dt.date | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is a date such as 2026-11-23") from None


def _filters(tx: Transaction, params: dict[str, str | None]) -> EventFilter:
    """The search form's fields as a filter; the period's days are whole days where the covenant's
    dates fall (``to`` inclusive)."""
    pseudonym = _blank(params.get("pseudonym"))
    if pseudonym is not None and not _PSEUDONYM.match(pseudonym):
        raise BadRequest("a pseudonym has letters, digits, '-' and '_' only, at most 32")
    actor_id = _blank(params.get("actor_id"))
    if actor_id is not None and len(actor_id) > 64:
        raise BadRequest("a staff member id has at most 64 characters")
    start, end = _day(params.get("from"), "from"), _day(params.get("to"), "to")
    return EventFilter(pseudonym=pseudonym, actor_id=actor_id, party=_blank(params.get("party")),
                       action=_blank(params.get("action")), outcome=_blank(params.get("outcome")),
                       occurred_from=tx.start_of(start) if start else None,
                       occurred_until=tx.start_of(end + dt.timedelta(days=1)) if end else None)


_FILTER_FIELDS = ("pseudonym", "actor_id", "party", "action", "outcome", "from", "to")


def _query(request: Request) -> dict[str, str]:
    return {name: request.query_params[name] for name in _FILTER_FIELDS if _blank(request.query_params.get(name))}


def _before(request: Request) -> int | None:
    value = _blank(request.query_params.get("before"))
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise BadRequest("before is an event number")
    return int(value)


def _search_page(request: Request, *, title: str, fixed: dict[str, str], route: str) -> Response:
    runtime = _ui(request).runtime

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        query = {**_query(request), **fixed}
        filters = _filters(tx, query)
        page = auditlog_service.review_events(
            tx, purpose=OVERSIGHT, pseudonym=filters.pseudonym, actor_id=filters.actor_id, party=filters.party,
            action=filters.action, outcome=filters.outcome, occurred_from=filters.occurred_from,
            occurred_until=filters.occurred_until, before=_before(request), limit=PAGE_SIZE)
        older = (f"{request.url_for(route)}?{urlencode({**_query(request), 'before': page.next_before})}"
                 if page.next_before is not None else None)
        return {"title": title, "query": query, "fixed": fixed, "events": page.items, "older": older,
                "route": route, "export_query": urlencode(query),
                "parties": sorted(runtime.covenant.parties), "actions": sorted(AuditAction),
                "outcomes": list(Outcome)}

    return _page(request, work, "events.html")


@router.get("/events", name="ui_events")
def events(request: Request) -> Response:
    return _search_page(request, title="Search the trail", fixed={}, route="ui_events")


@router.get("/denied", name="ui_denied")
def denied(request: Request) -> Response:
    return _search_page(request, title="Denied attempts", fixed={"outcome": Outcome.DENY.value}, route="ui_denied")


@router.get("/clients/{pseudonym}", name="ui_client")
def client_history(request: Request, pseudonym: str) -> Response:
    """Everything the trail holds about one client, by pseudonym: who tried what, when, with what outcome."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        if not _PSEUDONYM.match(pseudonym):
            raise BadRequest("a pseudonym has letters, digits, '-' and '_' only, at most 32")
        page = auditlog_service.review_events(tx, purpose=OVERSIGHT, pseudonym=pseudonym, before=_before(request),
                                              limit=PAGE_SIZE)
        url = request.url_for("ui_client", pseudonym=pseudonym)
        return {"pseudonym": pseudonym, "events": page.items, "export_query": urlencode({"pseudonym": pseudonym}),
                "older": f"{url}?before={page.next_before}" if page.next_before is not None else None}

    return _page(request, work, "client.html")


@router.get("/volume", name="ui_volume")
def volume(request: Request) -> Response:
    """Staff who looked at more distinct clients' files in a period than a threshold."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        raw = _blank(request.query_params.get("more_than")) or str(VOLUME_THRESHOLD)
        if not raw.isdigit() or int(raw) > 100_000:
            raise BadRequest("the threshold is a whole number of clients")
        more_than = int(raw)
        end = _day(request.query_params.get("to"), "to") or tx.today
        start = _day(request.query_params.get("from"), "from") or end - dt.timedelta(days=VOLUME_DAYS - 1)
        if start > end:
            raise BadRequest("the period starts after it ends")
        readers = auditlog_service.unusual_readers(tx, purpose=OVERSIGHT, occurred_from=tx.start_of(start),
                                                   occurred_until=tx.start_of(end + dt.timedelta(days=1)),
                                                   more_than=more_than)
        return {"readers": readers, "more_than": more_than, "start": start.isoformat(), "end": end.isoformat(),
                "actions": [action.value for action in auditlog_service.CLIENT_READS]}

    return _page(request, work, "volume.html")


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would take for a formula is quoted as text (CSV injection, OWASP).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _export(request: Request, export_format: str) -> Response:
    def work(tx: Transaction, session: UiSession) -> Response:
        filters = _filters(tx, _query(request))
        items = auditlog_service.export_events(tx, purpose=OVERSIGHT, filters=filters, export_format=export_format)
        rows = [AuditEventRead.model_validate(item).model_dump(mode="json") for item in items]
        stamp = tx.now.strftime("%Y%m%dT%H%M%SZ")
        if export_format == "json":
            body, media_type = json.dumps(rows, indent=1).encode(), "application/json"
        else:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(_CSV_FIELDS)
            writer.writerows([_csv_cell(row[name]) for name in _CSV_FIELDS] for row in rows)
            body, media_type = out.getvalue().encode(), "text/csv"
        return Response(body, media_type=media_type, headers={
            "Content-Disposition": f'attachment; filename="audit-events-{stamp}.{export_format}"'})

    return _page(request, work)


@router.get("/export.csv", name="ui_export_csv")
def export_csv(request: Request) -> Response:
    return _export(request, "csv")


@router.get("/export.json", name="ui_export_json")
def export_json(request: Request) -> Response:
    return _export(request, "json")


# ----- break-the-glass review -----------------------------------------------------------------------


@router.get("/emergency", name="ui_emergency")
def emergency(request: Request) -> Response:
    """Break-the-glass windows waiting for review, oldest first, with the reason given for each."""

    def work(tx: Transaction, session: UiSession) -> dict[str, Any]:
        page = emergency_service.list_emergencies(tx, purpose=OVERSIGHT, pending=True,
                                                  limit=emergency_service.MAX_PAGE)
        return {"windows": page.items, "more": page.next_cursor is not None,
                "outcomes": [str(outcome) for outcome in emergency_service.OUTCOMES],
                "reviewed": request.query_params.get("reviewed") == "1"}

    return _page(request, work, "emergency.html")


@router.post("/emergency/{access_id}/review", name="ui_emergency_review")
def emergency_review(request: Request, access_id: uuid.UUID,
                     outcome: Annotated[str, Form(max_length=20)] = "",
                     note: Annotated[str, Form(max_length=emergency_service.MAX_NOTE)] = "",
                     csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Record a privacy officer's finding on one window (justified or not, with a note)."""
    ui = _ui(request)
    session, _ = ui.sessions.read(request, ui.runtime.clock())
    if session is not None and session.staff_id is not None and not session.csrf_matches(csrf_token):
        tx = _transaction(request, Actor.staff_member(uuid.UUID(session.staff_id), SOURCE_SYSTEM))
        try:
            return _csrf_refused(request, tx, session)
        finally:
            tx.close()

    def work(tx: Transaction, session: UiSession) -> Response:
        if outcome not in [str(value) for value in emergency_service.OUTCOMES] or not note.strip():
            raise BadRequest("choose justified or unjustified and write a note")
        emergency_service.review_emergency(tx, access_id, purpose=OVERSIGHT, outcome=outcome, note=note.strip())
        return RedirectResponse(f"{request.url_for('ui_emergency')}?reviewed=1", status_code=303)

    return _page(request, work)
