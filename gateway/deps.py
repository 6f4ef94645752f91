"""FastAPI dependencies: the unit of work, the acting staff member, the stated purpose, the clock.

The unit of work is a function-scoped dependency: it commits after the route function returns and
before the response is sent, so an answer never leaves without its audit event.
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
from gateway.errors import Conflict, GatewayError, PurposeInvalid, Unauthenticated
from gateway.runtime import Runtime
from gateway.tokens import InvalidToken
from gateway.transaction import Actor, Caller, Transaction

log = structlog.get_logger(__name__)

bearer_scheme = HTTPBearer(auto_error=False, description="A JWT access token issued by the gateway")


def access_point(request: Request) -> str:
    """How the trail names where a request came in: the method and the route template, never the URL."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '?')}"


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_transaction(request: Request,
                          runtime: Annotated[Runtime, Depends(get_runtime)]) -> AsyncIterator[Transaction]:
    """The request's unit of work, committed after the route returns and before the answer leaves.

    Async, so that the commit is awaited on the event loop: the request holds no worker thread
    while the writer commits it with others.
    """
    tx = Transaction(runtime, access_point=access_point(request), request_id=getattr(request.state, "request_id", None))
    try:
        yield tx
    except GatewayError as exc:
        await tx.abandon_async(exc.slug)
        raise
    except RequestValidationError:
        tx.record(AuditAction.REQUEST_REJECTED, tx.actor, outcome=Outcome.DENY, reason="request_invalid")
        await tx.abandon_async("request_invalid")
        request.state.invalid_request_recorded = True
        raise
    except Exception:
        await tx.abandon_async("internal_error")
        raise
    else:
        try:
            await tx.commit_async()
        except IntegrityError:
            raise Conflict("the request conflicts with the current state of the file") from None
    finally:
        tx.close()


Tx = Annotated[Transaction, Depends(get_transaction, scope="function")]


async def get_caller(tx: Tx,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Caller:
    """Who the bearer token was issued for; every refusal is recorded (ASVS 16.3.1).

    No I/O: the signature check is cached per token. The staff member is looked up by the route
    (``tx.identify``), on the worker thread that does the request's other reads.
    """

    def reject(reason: str) -> Unauthenticated:
        tx.record(AuditAction.AUTH_REJECTED, None, outcome=Outcome.DENY, reason=reason)
        return Unauthenticated()

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise reject("token_missing")
    try:
        claims = tx.runtime.tokens.verify(credentials.credentials, tx.now)
        staff_id = uuid.UUID(claims.subject)
    except InvalidToken as exc:
        raise reject(exc.reason) from None
    except ValueError:
        raise reject("token_subject_unknown") from None
    caller = Caller(staff_id=staff_id, scopes=claims.scopes, source_system=claims.client_id)
    tx.actor = Actor.unresolved(caller)
    structlog.contextvars.bind_contextvars(actor_id=str(staff_id))
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def get_purpose(tx: Tx, caller: CurrentCaller,
                      x_purpose: Annotated[str | None, Header(alias="X-Purpose", description=(
                          "The covenant purpose of this request (art. 4), e.g. wellbeing, income, housing, "
                          "nuisance_reduction, subject_rights, oversight"))] = None) -> str:
    """Art. 4: every request states its purpose, one of the covenant's. (No I/O: runs on the event loop.)"""
    if not x_purpose:
        tx.record(AuditAction.REQUEST_REJECTED, tx.actor, outcome=Outcome.DENY, reason="purpose_missing")
        raise PurposeInvalid("state the purpose of the request in the X-Purpose header (art. 4)")
    if x_purpose not in tx.covenant.purposes:
        tx.record(AuditAction.REQUEST_REJECTED, tx.actor, outcome=Outcome.DENY, reason="purpose_unknown")
        raise PurposeInvalid("the X-Purpose header names no purpose of the covenant in force (art. 4)",
                             extra={"purposes": sorted(tx.covenant.purposes)})
    return x_purpose


Purpose = Annotated[str, Depends(get_purpose)]
