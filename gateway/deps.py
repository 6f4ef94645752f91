"""FastAPI dependencies: the unit of work, the acting staff member, the stated purpose, the clock.

The unit of work is a function-scoped dependency: it commits after the route function returns and
before the response is sent, so an answer never leaves without its audit event.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Iterator

import structlog
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError

from audit import AuditAction, Outcome
from gateway.errors import Conflict, GatewayError, PurposeInvalid, Unauthenticated
from gateway.parties import service as parties_service
from gateway.runtime import Runtime
from gateway.tokens import InvalidToken
from gateway.transaction import Actor, Transaction

log = structlog.get_logger(__name__)

bearer_scheme = HTTPBearer(auto_error=False, description="A JWT access token issued by the gateway")


def access_point(request: Request) -> str:
    """How the trail names where a request came in: the method and the route template, never the URL."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '?')}"


def record_invalid_request(tx: Transaction, actor: Actor | None) -> None:
    tx.record(AuditAction.REQUEST_REJECTED, actor, outcome=Outcome.DENY, reason="request_invalid")
    tx.abandon("request_invalid")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_transaction(request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Transaction]:
    tx = Transaction(runtime, access_point=access_point(request), request_id=getattr(request.state, "request_id", None))
    try:
        yield tx
    except GatewayError as exc:
        tx.abandon(exc.slug)
        raise
    except RequestValidationError:
        record_invalid_request(tx, tx.actor)
        request.state.invalid_request_recorded = True
        raise
    except Exception:
        tx.abandon("internal_error")
        raise
    else:
        try:
            tx.commit()
        except IntegrityError:
            raise Conflict("the request conflicts with the current state of the file") from None
    finally:
        tx.close()


Tx = Annotated[Transaction, Depends(get_transaction, scope="function")]


def get_actor(tx: Tx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Actor:
    """The staff member the bearer token was issued for; every refusal is recorded (ASVS 16.3.1)."""

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
    staff = parties_service.get_staff(tx.session, staff_id)
    if staff is None:
        raise reject("token_subject_unknown")
    actor = Actor(subject=parties_service.subject_for(staff, claims.scopes), source_system=claims.client_id)
    tx.actor = actor
    structlog.contextvars.bind_contextvars(actor_id=str(staff_id))
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


def get_purpose(tx: Tx, actor: CurrentActor,
                x_purpose: Annotated[str | None, Header(alias="X-Purpose", description=(
                    "The covenant purpose of this request (art. 4), e.g. wellbeing, income, housing, "
                    "nuisance_reduction, subject_rights, oversight"))] = None) -> str:
    """Art. 4: every request states its purpose, one of the covenant's."""
    if not x_purpose:
        tx.record(AuditAction.REQUEST_REJECTED, actor, outcome=Outcome.DENY, reason="purpose_missing")
        raise PurposeInvalid("state the purpose of the request in the X-Purpose header (art. 4)")
    if x_purpose not in tx.covenant.purposes:
        tx.record(AuditAction.REQUEST_REJECTED, actor, outcome=Outcome.DENY, reason="purpose_unknown")
        raise PurposeInvalid("the X-Purpose header names no purpose of the covenant in force (art. 4)",
                             extra={"purposes": sorted(tx.covenant.purposes)})
    return x_purpose


Purpose = Annotated[str, Depends(get_purpose)]
