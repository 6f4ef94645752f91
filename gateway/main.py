"""The HTTP application."""

from __future__ import annotations

import time
import uuid

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit import AuditAction, Outcome
from gateway.auditlog.router import router as audit_router
from gateway.care.router import router as care_router
from gateway.clients.router import router as clients_router
from gateway.consents.router import router as consents_router
from gateway.deps import request_transaction
from gateway.disclosures.router import router as disclosures_router
from gateway.informing.router import router as informing_router
from gateway.errors import (
    PROBLEM_MEDIA_TYPE,
    GatewayError,
    HttpProblem,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
)
from gateway.emergency.router import router as emergency_router
from gateway.events.router import router as events_router
from gateway.oauth.router import router as oauth_router
from gateway.idempotency import REPLAYED_HEADER, IdempotentAnswers, Replayed
from gateway.records.router import router as records_router
from gateway.register.router import router as register_router
from gateway.reports.router import router as reports_router
from gateway.retention.router import router as retention_router
from gateway.rights.router import router as rights_router
from gateway.statistics.router import router as statistics_router
from gateway.routing import document_plumbing
from gateway.runtime import Runtime
from gateway.tracing import parse_traceparent
from gateway.web import requests as web_requests
from gateway.web import tasks as web_tasks
from gateway.web import views as web_views

log = structlog.get_logger(__name__)

_SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class RequestContext:
    """Pure ASGI middleware: a request id, the partner's trace context, no-store caching, and one log
    line per request.

    The log line names the route template, not the URL, and no client address (ASVS 16.2.5). A valid
    ``traceparent`` (W3C Trace Context) is kept for the request's audit events and its trace id is
    bound to the log context; an invalid one is ignored (see :mod:`gateway.tracing`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        trace = parse_traceparent([value.decode("latin-1") for name, value in scope["headers"]
                                   if name == b"traceparent"])
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["traceparent"] = trace.value if trace else None
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, **({"trace_id": trace.trace_id} if trace else {}))
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(header for header in _SECURITY_HEADERS if header[0] not in present),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        started_response = False

        async def tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            # The last resort, here rather than outside: the answer keeps its headers (no-store, id).
            log.error("unexpected_error", error=type(exc).__name__, exc_info=exc)
            if started_response:
                raise
            code, body, headers = GatewayError("the gateway could not handle this request; it has been logged"
                                               ).response_parts(request_id)
            await send_with_headers({"type": "http.response.start", "status": code, "headers": headers})
            await send_with_headers({"type": "http.response.body", "body": body})
        finally:
            route = scope.get("route")
            log.info("request_finished", method=scope["method"], route=getattr(route, "path", None), status=status,
                     duration_ms=round((time.perf_counter() - started) * 1000, 2))


def _answer(request: Request, error: GatewayError) -> Response:
    path = get_route_path(request.scope)  # under a region's prefix too (gateway.regions)
    if getattr(request.app.state, "ui", None) is not None and (path == "/ui" or path.startswith("/ui/")):
        return web_views.error_page(request, error)  # the web UI answers with pages, not problem documents
    return JSONResponse(error.problem(request.state.request_id), status_code=error.status_code,
                        media_type=PROBLEM_MEDIA_TYPE, headers=error.headers or None)


def create_app(runtime: Runtime, *, ui_cookie: str = "gateway-ui") -> FastAPI:
    """The gateway's API and web UI for one covenant. A further region's app, served under a prefix,
    names its UI's own cookie (``ui_cookie``; see :mod:`gateway.regions`)."""
    app = FastAPI(
        title="Covenant gateway",
        version="1",
        summary="Privacy-first data exchange for the partners of a homelessness-care covenant",
        description=("Every request carries a bearer token and states its purpose in `X-Purpose` (art. 4). "
                     "Staff see a client's file only while linked to the client, in the categories their "
                     "party may read; every attempt is in the audit trail. Errors are RFC 9457 problem "
                     "documents with stable `type` URIs."),
    )
    app.state.runtime = runtime
    app.include_router(clients_router)
    app.include_router(care_router)
    app.include_router(records_router)
    app.include_router(audit_router)
    app.include_router(emergency_router)
    app.include_router(rights_router)
    app.include_router(retention_router)
    app.include_router(events_router)
    app.include_router(statistics_router)
    app.include_router(register_router)
    app.include_router(reports_router)
    app.include_router(disclosures_router)
    app.include_router(informing_router)
    app.include_router(consents_router)
    app.include_router(oauth_router)
    app.state.ui = web_views.Ui(runtime, cookie=ui_cookie)
    app.include_router(web_views.router)
    app.include_router(web_requests.router)
    app.include_router(web_tasks.router)
    app.mount("/ui/static", StaticFiles(directory=web_views.STATIC), name="ui_static")

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability. Touches no personal data and is not audited."""
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "covenant": runtime.covenant.label}

    @app.exception_handler(GatewayError)
    def _gateway_error(request: Request, exc: GatewayError) -> Response:
        return _answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if not getattr(request.state, "invalid_request_recorded", False):
            # A body that is not even JSON is refused before any dependency runs; record it here.
            tx = request_transaction(request)
            tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="request_invalid")
            await tx.commit_async()
        # Name the place and the kind of fault, never the value: it may be personal data.
        errors = [{"field": ".".join(str(part) for part in error.get("loc", ())), "problem": error.get("type", "")}
                  for error in exc.errors()]
        return _answer(request, InvalidRequest("the request does not match the API's schema",
                                               extra={"errors": errors}))

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        known = {404: NotFound, 405: MethodNotAllowed}.get(exc.status_code)
        error = known(str(exc.detail), headers=exc.headers) if known else HttpProblem(
            exc.status_code, str(exc.detail), headers=exc.headers)
        return _answer(request, error)

    @app.exception_handler(Replayed)
    def _replayed(request: Request, exc: Replayed) -> Response:
        answer = exc.answer
        return Response(answer.body, status_code=answer.status_code,
                        headers={**answer.headers, REPLAYED_HEADER: "true"})

    app.add_middleware(IdempotentAnswers)
    app.add_middleware(RequestContext)  # outermost: its request id and headers are on every answer
    document_plumbing(app, purposes=sorted(runtime.covenant.purposes),
                      token_url=f"{runtime.settings.public_url}/oauth/token")
    return app
