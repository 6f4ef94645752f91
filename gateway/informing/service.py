"""Art. 10, the duty to inform: the client is told of the processing (purposes, controller, parties)
before the intake. The client manager records the moment, how and by whom (``client.inform``, once);
an intake-form section written before it is refused by :func:`covenant.decide` (``client_not_informed``);
a partner's entry arriving before it raises a task for the client manager (``task.raised``), listed with
``GET /v1/tasks`` (``task.list``) and closed when the moment is recorded."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from audit import AuditAction, Outcome
from covenant import Action, Resource
from gateway.access import AccessFacts
from gateway.clients.models import Client
from gateway.errors import Conflict, InvalidContent
from gateway.informing.models import INFORM_CLIENT, ClientTask
from gateway.parties.models import Staff
from gateway.transaction import Transaction


class How(enum.StrEnum):
    IN_PERSON = "in_person"
    LETTER = "letter"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class InformedView:
    client_id: uuid.UUID
    informed_at: dt.datetime
    how: str
    informed_by: uuid.UUID
    tasks_closed: int


@dataclass(frozen=True, slots=True)
class TaskView:
    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    source_party: str
    entry_id: uuid.UUID | None
    created_at: dt.datetime
    closed_at: dt.datetime | None


def record_informed(tx: Transaction, client_id: uuid.UUID, *, purpose: str, how: str,
                    informed_at: dt.datetime | None = None) -> InformedView:
    """Record that the client was informed (now, or at ``informed_at``, not in the future); once: 409
    when a moment is recorded already. Closes the client's open ``inform_client`` tasks."""
    moment = informed_at or tx.now
    if moment.tzinfo is None or moment > tx.now:
        tx.record(AuditAction.CLIENT_INFORM, outcome=Outcome.DENY, reason="informed_at_invalid", purpose=purpose,
                  object_type="client", object_id=str(client_id))
        raise InvalidContent("the client cannot have been informed later than now", extra={"errors": [
            {"field": "informed_at", "problem": "must be a moment with a time zone, not in the future"}]})
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.CLIENT_INFORM, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.CLIENT_INFORM, client_pseudonym=facts.pseudonym,
                            object_type="client", object_id=str(client_id), detail={"how": how})
    if not decision.allowed:
        raise tx.refuse(decision)
    if facts.informed:
        raise Conflict("the moment this client was informed is recorded already")
    staff_id, now = tx.actor.staff_id, tx.now
    open_tasks = list(tx.session.scalars(select(ClientTask.id).where(
        ClientTask.client_id == client_id, ClientTask.kind == INFORM_CLIENT, ClientTask.closed_at.is_(None))))

    def apply(conn) -> None:
        if not conn.execute(update(Client).where(Client.id == client_id, Client.informed_at.is_(None))
                            .values(informed_at=moment, informed_how=how, informed_by=staff_id)).rowcount:
            raise Conflict("the moment this client was informed is recorded already")
        if open_tasks:
            conn.execute(update(ClientTask).where(ClientTask.id.in_(open_tasks)).values(closed_at=now))

    tx.write(apply)
    return InformedView(client_id=client_id, informed_at=moment, how=how, informed_by=staff_id,
                        tasks_closed=len(open_tasks))


def raise_task(tx: Transaction, client_id: uuid.UUID, facts: AccessFacts, *, source_party: str,
               entry_id: uuid.UUID) -> None:
    """A partner's entry arrived before the client was informed: the client manager gets a task (one
    open task per client). Entries of the client manager's own party raise none: they are the intake's."""
    manager = facts.client.manager if facts.client is not None else None
    if manager is None:
        return
    manager_party = tx.session.scalar(select(Staff.party_id).where(Staff.id == uuid.UUID(manager)))
    if manager_party is None or manager_party == source_party:
        return
    if tx.session.scalar(select(ClientTask.id).where(ClientTask.client_id == client_id,
                                                     ClientTask.kind == INFORM_CLIENT,
                                                     ClientTask.closed_at.is_(None)).limit(1)) is not None:
        return
    task_id = uuid.uuid4()
    values = {"id": task_id, "client_id": client_id, "assignee_id": uuid.UUID(manager), "kind": INFORM_CLIENT,
              "source_party_id": source_party, "entry_id": entry_id, "created_at": tx.now, "closed_at": None}
    tx.write(lambda conn: conn.execute(insert(ClientTask).values(**values)))
    tx.record(AuditAction.TASK_RAISED, outcome=Outcome.PERMIT, reason="client_not_informed",
              purpose=None, client_pseudonym=facts.pseudonym, object_type="task", object_id=str(task_id),
              detail={"kind": INFORM_CLIENT, "assignee": manager, "source_party": source_party})


def list_tasks(tx: Transaction, *, purpose: str, include_closed: bool = False) -> list[TaskView]:
    """The calling client manager's tasks, oldest first; open ones only unless ``include_closed``."""
    decision = tx.authorize(Action.TASK_LIST, Resource(), purpose=purpose, audit_action=AuditAction.TASK_LIST,
                            object_type="task")
    if not decision.allowed:
        raise tx.refuse(decision)
    statement = select(ClientTask).where(ClientTask.assignee_id == tx.actor.staff_id)
    if not include_closed:
        statement = statement.where(ClientTask.closed_at.is_(None))
    rows = tx.session.scalars(statement.order_by(ClientTask.created_at, ClientTask.id)).all()
    return [TaskView(id=row.id, client_id=row.client_id, kind=row.kind, source_party=row.source_party_id,
                     entry_id=row.entry_id, created_at=row.created_at, closed_at=row.closed_at) for row in rows]
