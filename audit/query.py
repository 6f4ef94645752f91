"""Read the trail for review: bounded, newest first, by client pseudonym or by actor."""

from __future__ import annotations

import datetime as dt
from typing import Iterable, NamedTuple, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent

MAX_PAGE = 500


def events(session: Session, *, client_pseudonym: str | None = None, actor_id: str | None = None,
           actor_party: str | None = None, trace_id: str | None = None, action: str | None = None,
           outcome: str | None = None, occurred_from: dt.datetime | None = None,
           occurred_until: dt.datetime | None = None, before_seq: int | None = None,
           limit: int = 100) -> Sequence[AuditEvent]:
    """A page of events, newest first; ``before_seq`` continues from the previous page.

    ``occurred_from`` is inclusive and ``occurred_until`` exclusive. Like ``trace_id``, ``action``,
    ``outcome`` and the period have no index of their own: they narrow a scan that runs newest first.

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
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    if outcome is not None:
        statement = statement.where(AuditEvent.outcome == outcome)
    if occurred_from is not None:
        statement = statement.where(AuditEvent.occurred_at >= occurred_from)
    if occurred_until is not None:
        statement = statement.where(AuditEvent.occurred_at < occurred_until)
    if before_seq is not None:
        statement = statement.where(AuditEvent.seq < before_seq)
    statement = statement.order_by(AuditEvent.seq.desc()).limit(max(1, min(limit, MAX_PAGE)))
    return session.scalars(statement).all()


class Reader(NamedTuple):
    actor_id: str
    actor_party: str | None
    clients: int
    events: int


def readers_of_many_clients(session: Session, *, actions: Iterable[str], occurred_from: dt.datetime,
                            occurred_until: dt.datetime, more_than: int, actor_party: str | None = None,
                            limit: int = 100) -> list[Reader]:
    """The staff members who were permitted ``actions`` on more than ``more_than`` distinct clients in
    the period (``occurred_from`` inclusive, ``occurred_until`` exclusive), most clients first."""
    clients = func.count(func.distinct(AuditEvent.client_pseudonym))
    statement = (select(AuditEvent.actor_id, func.max(AuditEvent.actor_party), clients, func.count())
                 .where(AuditEvent.action.in_(list(actions)), AuditEvent.outcome == "permit",
                        AuditEvent.client_pseudonym.is_not(None), AuditEvent.actor_id.is_not(None),
                        AuditEvent.occurred_at >= occurred_from, AuditEvent.occurred_at < occurred_until))
    if actor_party is not None:
        statement = statement.where(AuditEvent.actor_party == actor_party)
    statement = (statement.group_by(AuditEvent.actor_id).having(clients > more_than)
                 .order_by(clients.desc(), AuditEvent.actor_id).limit(max(1, min(limit, MAX_PAGE))))
    return [Reader(*row) for row in session.execute(statement)]
