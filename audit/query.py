"""Read the trail for review: bounded, newest first, by client pseudonym or by actor."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent

MAX_PAGE = 500


def events(session: Session, *, client_pseudonym: str | None = None, actor_id: str | None = None,
           actor_party: str | None = None, trace_id: str | None = None, before_seq: int | None = None,
           limit: int = 100) -> Sequence[AuditEvent]:
    """A page of events, newest first; ``before_seq`` continues from the previous page.

    ``trace_id`` (32 lowercase hex) selects the events of a partner's trace. It has no index of its own:
    alone it scans the trail newest first until a page is full, so combined with a client or an actor
    it is cheap, and alone it is meant for recent traces.
    """
    statement: Select = select(AuditEvent)
    if client_pseudonym is not None:
        statement = statement.where(AuditEvent.client_pseudonym == client_pseudonym)
    if actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    if actor_party is not None:
        statement = statement.where(AuditEvent.actor_party == actor_party)
    if trace_id is not None:
        # The trace id is characters 4-35 of every version of a traceparent (W3C Trace Context 3.2).
        statement = statement.where(func.substr(AuditEvent.traceparent, 4, 32) == trace_id)
    if before_seq is not None:
        statement = statement.where(AuditEvent.seq < before_seq)
    statement = statement.order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, MAX_PAGE)))
    return session.scalars(statement).all()
