"""Read the trail for review: bounded, newest first, by client pseudonym or by actor."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent

MAX_PAGE = 500


def events(session: Session, *, client_pseudonym: str | None = None, actor_id: str | None = None,
           actor_party: str | None = None, before_seq: int | None = None,
           limit: int = 100) -> Sequence[AuditEvent]:
    """A page of events, newest first; ``before_seq`` continues from the previous page."""
    statement: Select = select(AuditEvent)
    if client_pseudonym is not None:
        statement = statement.where(AuditEvent.client_pseudonym == client_pseudonym)
    if actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    if actor_party is not None:
        statement = statement.where(AuditEvent.actor_party == actor_party)
    if before_seq is not None:
        statement = statement.where(AuditEvent.seq < before_seq)
    statement = statement.order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, MAX_PAGE)))
    return session.scalars(statement).all()
