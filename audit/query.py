"""Read the trail for review: bounded, newest first, by client pseudonym or by actor.

Pages with a period, and why they are ordered by the moment
-----------------------------------------------------------
A page without a period is the newest events by position (``seq``), walked down the primary key or
the (client, seq) and (actor, seq) indexes, and continued below the last position shown. A page
with a period (``occurred_from``/``occurred_until``) used to be ordered the same way, and on
PostgreSQL, with 10 million events, "a month two years back" took 1.7 s: the planner walked the
primary key down from the newest event, testing each row's moment, through the years after the
period before it found one row (bench/audit_trail.py).

The alternatives considered:

* **Translate the period into positions** (look up the first and last ``seq`` of the period through
  the moment's index, then walk ``seq`` within them). Simple, and it keeps ``seq`` order, but it is
  exact only if ``occurred_at`` rises with ``seq``, and it does not: an event's moment is taken when
  its request starts and its position when it commits, several instances append with their own
  clocks, and a clock may step. An event a few seconds out of order at a period's edge would be
  missing from the review, silently. A margin makes that rarer, not impossible.
* **Order a period's page by (occurred_at, seq), newest first**, walking one composite index
  ``(occurred_at, seq)`` backwards from the period's end: a page costs its own rows whatever the
  period and however the clocks behave, and the page order is still "newest first", by the moment
  the event records (which is what a period asks about). Chosen.

The cursor stays what the API and the UI already hand out, ``before`` = the position of the last
event shown: for a page with a period the next page continues after that event's (occurred_at, seq),
read from the event itself (one primary-key look-up), so the contract does not change and a cursor
cannot name a moment outside what the trail holds. A ``before`` that names no event (beyond the head)
falls back to ``seq < before``. The composite index replaces 0006when's index on ``occurred_at``
alone (its leading column serves every query that used it), so appends maintain as many indexes as
before, each entry 8 bytes wider (measured in bench/README.md).

The period's bounds are written into the statement
---------------------------------------------------
psycopg prepares a statement after five executions, and PostgreSQL may then switch to a generic plan,
made without the parameters' values. With the period's bounds as parameters, the generic plan guessed
that any period holds 0.5 % of the trail: "one staff member in a year" took 12 ms with a plan of its
own and 115-190 ms from the tenth page on, when the generic plan intersected the staff member's index
with a whole year of the moment's index. The bounds are therefore rendered into the SQL text
(SQLAlchemy's ``literal_execute``; they are datetimes the caller parsed, rendered by SQLAlchemy, never
text from a request), so a plan, generic or not, knows how much of the trail the period covers; other
filters stay parameters.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, NamedTuple, Sequence

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from audit.models import AuditEvent

MAX_PAGE = 500


def events(session: Session, *, client_pseudonym: str | None = None, actor_id: str | None = None,
           actor_party: str | None = None, trace_id: str | None = None, action: str | None = None,
           outcome: str | None = None, occurred_from: dt.datetime | None = None,
           occurred_until: dt.datetime | None = None, before_seq: int | None = None,
           limit: int = 100, activity: str | None = None) -> Sequence[AuditEvent]:
    """A page of events, newest first; ``before_seq`` (the last event of the previous page) continues.

    ``occurred_from`` is inclusive and ``occurred_until`` exclusive. With a period the page is ordered
    by (occurred_at, seq) and walks the (occurred_at, seq) index; without one, by ``seq`` (see the
    module's docstring). Like ``trace_id``, ``action``, ``outcome`` and ``activity`` (the processing
    activity of the register the event served) have no index of their own: they narrow a scan that runs
    newest first.

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
    if activity is not None:
        statement = statement.where(AuditEvent.activity == activity)
    if occurred_from is not None:
        statement = statement.where(AuditEvent.occurred_at >= _moment(occurred_from))
    if occurred_until is not None:
        statement = statement.where(AuditEvent.occurred_at < _moment(occurred_until))
    period = occurred_from is not None or occurred_until is not None
    if before_seq is not None:
        statement = statement.where(_after(session, before_seq) if period else AuditEvent.seq < before_seq)
    order = (AuditEvent.occurred_at.desc(), AuditEvent.seq.desc()) if period else (AuditEvent.seq.desc(),)
    statement = statement.order_by(*order).limit(max(1, min(limit, MAX_PAGE)))
    return session.scalars(statement).all()


def _moment(value: dt.datetime):
    """A period's bound, written into the statement rather than sent as a parameter (see the module's
    docstring: a plan made for the statement then knows how much of the trail the period covers)."""
    if not isinstance(value, dt.datetime):
        raise TypeError("a period's bound is a datetime")
    return bindparam(None, value, type_=AuditEvent.__table__.c.occurred_at.type, literal_execute=True)


def _after(session: Session, before_seq: int):
    """The events after event ``before_seq`` in (occurred_at, seq) order, newest first: strictly older
    moments, and at the same moment lower positions."""
    moment = session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.seq == before_seq))
    if moment is None:
        return AuditEvent.seq < before_seq
    # ``occurred_at <= moment`` alone bounds the index walk; the OR then settles the ties.
    return and_(AuditEvent.occurred_at <= moment,
                or_(AuditEvent.occurred_at < moment, AuditEvent.seq < before_seq))


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
