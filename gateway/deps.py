"""The one FastAPI dependency of the v1 routes: the request's unit of work, with its caller and purpose.

It checks the bearer token (401), the partner system's rate (429, before anything is read from the
database), the stated purpose (400) and, on a POST, the ``Idempotency-Key`` (see
:mod:`gateway.idempotency`: a request already answered is answered again here, without running the
route), records every refusal, yields the unit of work to the route, and commits it after the route
returns and before the answer leaves, so an answer never leaves without its audit event. (With an
``Idempotency-Key``, the commit waits for the answer, to record it in the same transaction: the
answer is held by :class:`gateway.idempotency.IdempotentAnswers` until then.) It runs on the event loop and does no blocking
I/O itself: the token check is cached per token, and the commit is awaited while the writer thread
commits it with others. The route's one worker-thread hop does the reads.
"""

from __future__ import annotations

import uuid
from typing import Annotated, AsyncIterator

import structlog
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError

from audit import AuditAction, Outcome
from gateway import idempotency
from gateway.errors import Conflict, GatewayError, PurposeInvalid, Unauthenticated
from gateway.ratelimit import TooManyRequests
from gateway.tokens import InvalidToken
from gateway.transaction import Caller, Transaction

log = structlog.get_logger(__name__)

bearer_scheme = HTTPBearer(auto_error=False, description="A JWT access token issued by the gateway")

_PURPOSE_HEADER = Header(alias="X-Purpose", description=(
    "The covenant purpose of this request (art. 4): wellbeing, income, housing or nuisance_reduction for "
    "care; subject_rights, oversight, statistics, case_management or accountability for the controller's own duties"))


def access_point(request: Request) -> str:
    """How the trail names where a request came in: the method and the route template, never the URL."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '?')}"


def request_transaction(request: Request) -> Transaction:
    """A unit of work for ``request``: its events name the route, the request id and the partner's trace."""
    state = request.state
    return Transaction(request.app.state.runtime, access_point=access_point(request),
                       request_id=getattr(state, "request_id", None), traceparent=getattr(state, "traceparent", None))


def _authenticate(tx: Transaction, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """Who the bearer token was issued for; every refusal is recorded (ASVS 16.3.1)."""

    def reject(reason: str) -> Unauthenticated:
        tx.record(AuditAction.AUTH_REJECTED, outcome=Outcome.DENY, reason=reason)
        return Unauthenticated()

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise reject("token_missing")
    try:
        claims = tx.runtime.tokens.verify(credentials.credentials, tx.now)
        staff_id = None if claims.for_system else uuid.UUID(claims.subject)
    except InvalidToken as exc:
        raise reject(exc.reason) from None
    except ValueError:
        raise reject("token_subject_unknown") from None
    if claims.party is None:
        raise reject("token_claims_invalid")
    return Caller(staff_id=staff_id, scopes=claims.scopes, source_system=claims.client_id, party=claims.party,
                  token_id=claims.token_id)


async def _check_rate(tx: Transaction, caller: Caller) -> None:
    """One partner system (the token's ``client_id``) makes at most ``GATEWAY_RATE_LIMIT`` requests,
    so that a compromised one cannot scrape; counted before any database read."""
    try:
        await tx.runtime.rate_limiter.check_async(f"client:{caller.source_system}")
    except TooManyRequests as exc:
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="rate_limited")
        log.warning("rate_limited", source_system=caller.source_system, retry_after=exc.retry_after)
        raise


def _check_purpose(tx: Transaction, purpose: str | None) -> str:
    """Art. 4: every request states its purpose, one of the covenant's."""
    if not purpose:
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="purpose_missing")
        raise PurposeInvalid("state the purpose of the request in the X-Purpose header (art. 4)")
    if purpose not in tx.covenant.purposes:
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="purpose_unknown")
        raise PurposeInvalid("the X-Purpose header names no purpose of the covenant in force (art. 4)",
                             extra={"purposes": sorted(tx.covenant.purposes)})
    return purpose


async def get_transaction(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    x_purpose: Annotated[str | None, _PURPOSE_HEADER] = None,
) -> AsyncIterator[Transaction]:
    tx = request_transaction(request)
    try:
        try:
            caller = _authenticate(tx, credentials)
            tx.called_by(caller)
            structlog.contextvars.bind_contextvars(actor_id=tx.actor.audit_id)
            await _check_rate(tx, caller)
            tx.purpose = _check_purpose(tx, x_purpose)
            pending = await idempotency.begin(tx, request)
        except GatewayError as exc:
            await tx.abandon_async(exc.slug)
            raise
        try:
            yield tx
        except GatewayError as exc:
            await tx.abandon_async(exc.slug)
            raise
        except RequestValidationError:
            tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="request_invalid")
            await tx.abandon_async("request_invalid")
            request.state.invalid_request_recorded = True
            raise
        except Exception:
            await tx.abandon_async("internal_error")
            raise
        if pending is not None:
            idempotency.defer(request, tx, pending)
            return
        try:
            await tx.commit_async()
        except IntegrityError:
            raise Conflict("the request conflicts with the current state of the file") from None
    finally:
        tx.close()


Tx = Annotated[Transaction, Depends(get_transaction, scope="function")]
