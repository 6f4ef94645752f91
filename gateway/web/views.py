"""The staff's web UI: server-rendered pages under ``/ui``, no JavaScript.

The UI has areas, one per kind of work, each with its own pages and the action and purpose that open
it (:data:`AREAS`): the privacy officers' trail (``audit.read`` for the purpose ``oversight``) and the
client managers' requests (``request.list`` for ``subject_rights``, :mod:`gateway.web.requests`).
A staff member may sign in when ``covenant.decide`` gives them at least one area, and sees the
navigation of their areas only; the roles live in the covenant, not here. Signing in does not open
anything: every page is a unit of work like an API request, whose service decides on its own
action and records the view, permit or refusal, and the unit commits before the page leaves.
Signing in and out are recorded as ``ui.sign_in`` and ``ui.sign_out`` (with the purpose of the area
that let the staff member in); an export as ``audit.export``.

Sign-in: in demo mode a local page lists the demo staff to choose from; its form is refused (404)
outside demo mode. Sign-in through a party's own OpenID Connect provider (:mod:`gateway.web.oidc`) is
offered for every party with a provider configured, in either mode: the sign-in page lists them, and
the callback, once the ID token is verified and names a staff member of that party, decides and
records the sign-in exactly as the demo's form does, then calls :func:`start_session`.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from audit import AuditAction, AuditEvent, Outcome
from covenant import Action, Decision, Resource
from gateway.auditlog import service as auditlog_service
from gateway.auditlog.schemas import AuditEventRead
from gateway.auditlog.service import EventFilter
from gateway.deps import access_point
from gateway.emergency import service as emergency_service
from gateway.errors import BadRequest, GatewayError, NotFound, Unauthenticated
from gateway.parties.models import Staff
from gateway.runtime import Runtime
from gateway.transaction import Actor, Transaction
from gateway.web.oidc import FlowCookie, RelyingParty, SignInRefused
from gateway.web.sessions import SessionCodec, UiSession
from gateway.web.trail import TrailStatus

OVERSIGHT = "oversight"
SOURCE_SYSTEM = "gateway-ui"
PAGE_SIZE = 50
VOLUME_THRESHOLD = 20
VOLUME_DAYS = 7
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CSV_FIELDS = ("seq", "id", "occurred_at", "action", "outcome", "reason", "actor_id", "actor_roles", "actor_party",
               "on_behalf_of", "client_pseudonym", "object_type", "object_id", "categories", "purpose", "activity",
               "authority", "covenant_version", "access_point", "source_system", "request_id", "traceparent", "prev_hash", "hash")
SUBJECT_RIGHTS = "subject_rights"


@dataclass(frozen=True, slots=True)
class Area:
    """A part of the UI for one kind of work: opened by ``action`` for ``purpose`` (decided by the
    covenant), with its pages in the navigation, in order: (route name, label); the first is its home."""

    action: Action
    purpose: str
    pages: tuple[tuple[str, str], ...]

    @property
    def home(self) -> str:
        return self.pages[0][0]


# A page built elsewhere (the client managers' requests, for one) joins the UI by adding its area here.
AREAS: list[Area] = [
    Area(Action.AUDIT_READ, OVERSIGHT, (("ui_events", "Search the trail"), ("ui_denied", "Denied attempts"),
                                        ("ui_volume", "Unusual volume"), ("ui_emergency", "Break-the-glass review"))),
    Area(Action.REQUEST_LIST, SUBJECT_RIGHTS, (("ui_requests", "Requests"),)),
    Area(Action.NOTICE_READ, SUBJECT_RIGHTS, (("ui_notices", "Deadline notices"),)),
    Area(Action.TASK_LIST, "case_management", (("ui_tasks", "Tasks"),)),
]
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")

STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/ui", include_in_schema=False)


class Ui:
    """What the UI keeps for the life of the app: the session codec and the trail status, made on
    first use (building the app, e.g. for its OpenAPI document, touches neither keys nor database).

    ``cookie`` names the session cookie (and, with ``-sign-in``, the provider sign-in's flow cookie):
    each region's UI has its own (:mod:`gateway.regions`), so that signing in to one region neither
    replaces nor is read as a session of another; each is signed with its own region's key anyway."""

    def __init__(self, runtime: Runtime, *, cookie: str = "gateway-ui") -> None:
        self.runtime = runtime
        self.cookie = cookie

    @functools.cached_property
    def sessions(self) -> SessionCodec:
        settings = self.runtime.settings
        return SessionCodec(settings.key_folder, secure=not settings.demo, name=self.cookie,
                            idle=dt.timedelta(seconds=settings.ui_idle_seconds))

    @functools.cached_property
    def trail(self) -> TrailStatus:
        return TrailStatus(self.runtime.engine)

    @functools.cached_property
    def oidc(self) -> RelyingParty:
        return RelyingParty(self.runtime.settings, self.runtime.idp_keys, parties=self.runtime.covenant.parties)

    @functools.cached_property
    def flows(self) -> FlowCookie:
        return FlowCookie(self.sessions.serializer("gateway.ui.oidc-flow"), secure=self.sessions.secure,
                          name=f"{self.cookie}-sign-in")

    def providers(self) -> list[tuple[str, str]]:
        """The parties whose staff may sign in through their own provider: (code, name)."""
        parties = self.runtime.covenant.parties
        return [(code, parties[code].name) for code in sorted(self.runtime.settings.oidc_providers)
                if self.oidc.provider(code) is not None]


def _ui(request: Request) -> Ui:
    return request.app.state.ui


def _transaction(request: Request, actor: Actor | None = None) -> Transaction:
    return Transaction(request.app.state.runtime, access_point=access_point(request),
                       request_id=getattr(request.state, "request_id", None), actor=actor)


def _local_time(runtime: Runtime, moment: dt.datetime) -> str:
    return moment.astimezone(runtime.settings.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
           session: UiSession | None = None, areas: list[Area] | None = None) -> HTMLResponse:
    """A page with the trail status banner and the navigation of ``areas`` (the signed-in staff
    member's); its cookie renewed (the idle timeout starts again)."""
    ui = _ui(request)
    runtime = ui.runtime
    now = runtime.clock()
    check = ui.trail.current(now)
    response = templates.TemplateResponse(request, template, {
        "session": session if session is not None and session.staff_id else None,
        "csrf": session.csrf if session is not None else "",
        "trail": check.report if check else None,
        "trail_checked_at": _local_time(runtime, check.checked_at) if check else None,
        "navigation": [page for area in areas or () for page in area.pages], "demo": runtime.settings.demo,
        "local_time": lambda moment: _local_time(runtime, moment), **context,
    }, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if session is not None:
        ui.sessions.attach(response, session.touched(now))
    return response


def error_page(request: Request, error: GatewayError, session: UiSession | None = None,
               areas: list[Area] | None = None) -> HTMLResponse:
    return render(request, "error.html", {"status": error.status_code, "title": error.title, "detail": error.detail},
                  status_code=error.status_code, session=session, areas=areas)


def areas_of(tx: Transaction) -> list[Area]:
    """The areas the transaction's staff member may open: for the navigation only (each page still
    decides and records its own action), so decided without an event."""
    return [area for area in AREAS if tx.decide(area.action, Resource(), purpose=area.purpose).allowed]


def decide_sign_in(tx: Transaction, audit_action: AuditAction, **event: Any) -> tuple[Decision, Area | None]:
    """Whether the staff member may use the UI at all: permitted by the first area the covenant gives
    them, refused (with the first area's reason) when none; recorded as ``audit_action`` either way.
    The one decision of the demo's sign-in form, the provider's callback, and signing out."""
    decisions = [(tx.decide(area.action, Resource(), purpose=area.purpose), area) for area in AREAS]
    decision, area = next(((d, a) for d, a in decisions if d.allowed), (decisions[0][0], None))
    tx.record_decision(audit_action, decision, purpose=(area or AREAS[0]).purpose, object_type="ui_session",
                       **event)
    return decision, area


def _not_signed_in(request: Request, reason: str) -> Response:
    """No valid session: recorded like a request without a valid token; demo mode offers its sign-in page."""
    tx = _transaction(request)
    tx.record(AuditAction.AUTH_REJECTED, outcome=Outcome.DENY, reason=reason)
    tx.commit()
    ui = _ui(request)
    if ui.runtime.settings.demo:
        response: Response = RedirectResponse(request.url_for("ui_sign_in_form"), status_code=303)
    else:
        response = render(request, "sign_in_elsewhere.html", {"providers": ui.providers()}, status_code=401)
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
    areas: list[Area] = []
    try:
        try:
            areas = areas_of(tx)
            result = work(tx, session)
        except Unauthenticated:
            tx.abandon("unauthenticated")  # the staff member is gone: the session ends
            return _not_signed_in(request, "staff_unknown")
        except GatewayError as exc:
            tx.abandon(exc.slug)
            return error_page(request, exc, session, areas)
        except Exception:
            tx.abandon("internal_error")
            raise
        tx.commit()
    finally:
        tx.close()
    if isinstance(result, Response):
        return ui.sessions.attach(result, session.touched(ui.runtime.clock()))
    return render(request, template, result, session=session, areas=areas)


def rejected_form(tx: Transaction, message: str, *, purpose: str) -> BadRequest:
    """A form or query the UI cannot use: 400, recorded (``request_invalid``, for ``purpose``) as the API
    records an invalid request. The caller raises it."""
    tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="request_invalid", purpose=purpose)
    return BadRequest(message)


def form(request: Request, csrf_token: str, work: Callable[[Transaction, UiSession], Response]) -> Response:
    """A form's POST: refused (403, recorded, nothing changed) unless it carries the session's CSRF
    token; then one unit of work like a page."""
    ui = _ui(request)
    session, _ = ui.sessions.read(request, ui.runtime.clock())
    if session is not None and session.staff_id is not None and not session.csrf_matches(csrf_token):
        tx = _transaction(request, Actor.staff_member(uuid.UUID(session.staff_id), SOURCE_SYSTEM))
        try:
            return _csrf_refused(request, tx, session)
        finally:
            tx.close()
    return _page(request, work)


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
    """To the home of the signed-in staff member's first area."""

    def work(tx: Transaction, session: UiSession) -> Response:
        areas = areas_of(tx) or AREAS[:1]  # none any more: the page itself refuses, on record
        return RedirectResponse(request.url_for(areas[0].home), status_code=303)

    return _page(request, work)


@router.get("/sign-in", name="ui_sign_in_form")
def sign_in_form(request: Request) -> Response:
    """The parties whose staff sign in through their own provider; in demo mode also the demo staff
    to choose from."""
    ui = _ui(request)
    if not ui.runtime.settings.demo:
        return render(request, "sign_in_elsewhere.html", {"providers": ui.providers()})
    now = ui.runtime.clock()
    session, _ = ui.sessions.read(request, now)
    session = session or UiSession.anonymous(now)
    with ui.runtime.session() as db:
        staff = db.execute(select(Staff.handle, Staff.party_id, Staff.roles).where(Staff.active.is_(True))
                           .order_by(Staff.handle)).all()
    return render(request, "sign_in.html", {"staff": staff, "providers": ui.providers()}, session=session)


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
        decision, area = decide_sign_in(tx, AuditAction.UI_SIGN_IN)
        tx.commit()
    finally:
        tx.close()
    if area is None:
        return error_page(request, tx.refuse(decision), session)
    return start_session(request, RedirectResponse(request.url_for(area.home), status_code=303), session, staff_id)


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
            decide_sign_in(tx, AuditAction.UI_SIGN_OUT)
        except Unauthenticated:
            pass  # the staff member is gone; the rejection is recorded
        tx.commit()
    finally:
        tx.close()
    target = "ui_sign_in_form" if ui.runtime.settings.demo else "ui_signed_out"
    return ui.sessions.clear(RedirectResponse(request.url_for(target), status_code=303))


@router.get("/signed-out", name="ui_signed_out")
def signed_out(request: Request) -> Response:
    return render(request, "sign_in_elsewhere.html", {"signed_out": True, "providers": _ui(request).providers()})


# ----- sign-in through the party's OpenID Connect provider ------------------------------------------


def _provider_refused(request: Request, refused: SignInRefused, party: str | None) -> Response:
    """A sign-in through a provider that did not get as far as a decision: recorded without an
    actor (nobody is known, or the one named may not be trusted), with the party whose provider it
    was; the flow cookie goes, and no session is issued."""
    ui = _ui(request)
    tx = _transaction(request)
    tx.record(AuditAction.UI_SIGN_IN, outcome=Outcome.DENY, reason=refused.reason, purpose=OVERSIGHT,
              object_type="ui_session", detail={"provider": party} if party else None)
    tx.commit()
    error = GatewayError(refused.detail)
    error.status_code = refused.status_code
    error.title = {400: "Sign-in failed", 401: "Sign-in failed", 403: "Not permitted", 404: "Not found"}.get(
        refused.status_code, "Identity provider unavailable")
    return ui.flows.clear(error_page(request, error))


@router.get("/sign-in/{party}", name="ui_oidc_start")
def oidc_start(request: Request, party: str) -> Response:
    """Send the browser to the party's provider, with a new flow in its cookie."""
    ui = _ui(request)
    known = party if ui.oidc.provider(party) is not None else None
    try:
        url, flow = ui.oidc.begin(party, ui.runtime.clock())
    except SignInRefused as refused:
        return _provider_refused(request, refused, known)
    return ui.flows.attach(RedirectResponse(url, status_code=303), flow)


@router.get("/sign-in/{party}/callback", name="ui_oidc_callback")
def oidc_callback(request: Request, party: str) -> Response:
    """The provider sends the browser back here: check the flow, redeem the code, verify the ID
    token, find the staff member of that party it names, decide and record, and start a session."""
    ui = _ui(request)
    known = party if ui.oidc.provider(party) is not None else None
    flow, why = ui.flows.read(request, ui.runtime.clock())
    params = request.query_params
    try:
        if flow is None:
            raise SignInRefused(why, 400, "the sign-in has expired or was not started here; sign in again")
        if flow.party != party or not flow.state_matches(params.get("state")):
            raise SignInRefused("oidc_state_mismatch", 400, "the sign-in does not match the one started here; "
                                                            "sign in again")
        if params.get("error"):
            raise SignInRefused("oidc_provider_refused", 401, "your identity provider did not sign you in")
        code = params.get("code") or ""
        if not 0 < len(code) <= 2000:
            raise SignInRefused("oidc_code_missing", 400, "the identity provider sent no code; sign in again")
        subject = ui.oidc.finish(flow, code=code, now=ui.runtime.clock())
        with ui.runtime.session() as db:
            staff = db.execute(select(Staff.id, Staff.party_id).where(Staff.handle == subject)).first()
        if staff is None:
            raise SignInRefused("staff_unknown", 403, "your identity provider names no staff member known here")
        if staff.party_id != party:  # a party's provider speaks for that party's staff only
            raise SignInRefused("staff_other_party", 403, "your identity provider names no staff member of "
                                                          "its party")
    except SignInRefused as refused:
        return _provider_refused(request, refused, known)
    tx = _transaction(request, Actor.staff_member(staff.id, SOURCE_SYSTEM))
    try:
        decision, area = decide_sign_in(tx, AuditAction.UI_SIGN_IN, detail={"provider": party})
        tx.commit()
    finally:
        tx.close()
    if area is None:
        return ui.flows.clear(error_page(request, tx.refuse(decision)))
    # A page of ours leads on, not a redirect: the way back began on the provider's page, another site,
    # and a browser sends no SameSite=Strict cookie anywhere in that navigation, a redirect to the
    # trail included (tests/web/test_ui_e2e.py shows it); the page's own link is a same-site start.
    target = str(request.url_for(area.home))
    response = render(request, "signed_in.html", {"target": target})
    return ui.flows.clear(start_session(request, response, None, staff.id))


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
                       occurred_until=tx.start_of(end + dt.timedelta(days=1)) if end else None,
                       activity=_blank(params.get("activity")))


_FILTER_FIELDS = ("client_id", "pseudonym", "actor_id", "party", "action", "outcome", "activity", "from", "to")


def _client_id(params: dict[str, str | None]) -> uuid.UUID | None:
    """The "client reference" field: a client's id, which only the controller's privacy officers may
    ask by (the service decides and records that, as for the API's ``client_id``)."""
    value = _blank(params.get("client_id"))
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest("a client reference is the client's id, such as 0b8e4c1e-5d3f-4a6b-9c2d-7e1f0a9b8c7d") from None


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
            tx, purpose=OVERSIGHT, client_id=_client_id(query), pseudonym=filters.pseudonym,
            actor_id=filters.actor_id, party=filters.party, action=filters.action, outcome=filters.outcome,
            occurred_from=filters.occurred_from, occurred_until=filters.occurred_until, before=_before(request),
            limit=PAGE_SIZE, activity=filters.activity)
        older = (f"{request.url_for(route)}?{urlencode({**_query(request), 'before': page.next_before})}"
                 if page.next_before is not None else None)
        return {"title": title, "query": query, "fixed": fixed, "events": page.items, "older": older,
                "route": route, "export_query": urlencode(query),
                "client_lookup": auditlog_service.looks_up_clients(tx),
                "parties": sorted(runtime.covenant.parties), "actions": sorted(AuditAction),
                "activities": sorted({runtime.covenant.activity_of(code) for code in runtime.covenant.purposes}),
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
        query = _query(request)
        items = auditlog_service.export_events(tx, purpose=OVERSIGHT, filters=_filters(tx, query),
                                               client_id=_client_id(query), export_format=export_format)
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

    def work(tx: Transaction, session: UiSession) -> Response:
        if outcome not in [str(value) for value in emergency_service.OUTCOMES] or not note.strip():
            raise BadRequest("choose justified or unjustified and write a note")
        emergency_service.review_emergency(tx, access_id, purpose=OVERSIGHT, outcome=outcome, note=note.strip())
        return RedirectResponse(f"{request.url_for('ui_emergency')}?reviewed=1", status_code=303)

    return form(request, csrf_token, work)
