"""Clients' rights (art. 11-14): access, correction and objection requests, run to their deadlines.

The client's own client manager records a request on the client's behalf and handles it for the
controller (Instrument 2, art. 7). Every step is a transition of one state machine, decided by
``covenant.decide`` and recorded in the trail, refusals and illegal steps included::

    received -> in_review -> decided -> carried_out -> closed       (a granted correction)
                             decided -> closed                      (access, objection, a refusal)
    received | in_review | decided -> withdrawn                     (the client withdraws)

An illegal step is 409 and changes nothing. The deadlines are fixed on the request when they begin
(``decision_due`` on receipt, ``execution_due`` on a correction's decision), from the covenant's
terms, never recomputed; a decision after its deadline is marked ``late`` on the request and in the
event.

The effects:

* an objection found justified stops all processing of the client's data (the client's status,
  which ``covenant.decide`` reads on every access to the file) until the decision is reversed;
* a granted correction is carried out on the entry (improve, complete, delete, shield). What it
  supersedes is destroyed, not kept: the row is overwritten (SQLite ``secure_delete``, then the WAL
  truncated), and, because overwritten bytes may survive in free pages elsewhere (PostgreSQL's dead
  tuples, a backup), everything the client's data key sealed is sealed again under a new data key
  and the old key is destroyed once the change is durable (crypto-shredding); every party that
  received the old content (from the trail: permitted reads of the entry, and listings of the file
  in its category after it was written) is notified (GDPR art. 19) until it acknowledges;
* an access request produces the client's copy: everything on the client except entries withheld on
  a confidentiality ground of art. 12 (named with the ground, without content), and which parties
  looked at the file on which days (from the trail; no staff names).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any, Mapping

import structlog
from sqlalchemy import delete, func, insert, select, update

from audit import AuditAction, AuditEvent, Outcome as AuditOutcome
from covenant import Action, Resource, check_content
from gateway.care import service as care_service
from gateway.care.models import CareLink
from gateway.clients.models import Client, ClientStatus
from gateway.db import truncate_data_wal
from gateway.emergency import service as emergency_service
from gateway.emergency.models import EmergencyAccess
from gateway.errors import Conflict, InvalidContent, NotFound
from gateway.parties.models import Staff
from gateway.records import service as records_service
from gateway.records.models import Entry
from gateway.retention.holds import hold_aad
from gateway.retention.models import LegalHold
from gateway.rights import letters
from gateway.rights.models import Correction, Kind, Notification, Outcome, RightsRequest, Status
from gateway.rights.terms import decision_due, execution_due
from gateway.transaction import Transaction
from gateway.vault import aad

log = structlog.get_logger(__name__)

MAX_TEXT = 2000
OPEN = (Status.RECEIVED, Status.IN_REVIEW, Status.DECIDED)
OUTCOMES = {
    Kind.ACCESS: (Outcome.GRANTED, Outcome.GRANTED_IN_PART, Outcome.REFUSED),
    Kind.CORRECTION: (Outcome.GRANTED, Outcome.GRANTED_IN_PART, Outcome.REFUSED),
    Kind.OBJECTION: (Outcome.JUSTIFIED, Outcome.UNJUSTIFIED),
}
GRANTED = (Outcome.GRANTED, Outcome.GRANTED_IN_PART)
# The permitted reads of a file that put its content in a party's hands (GDPR art. 19).
_READS = (AuditAction.RECORD_READ.value, AuditAction.RECORD_LIST.value)


# --- views ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class NotificationView:
    id: uuid.UUID
    request_id: uuid.UUID
    client_id: uuid.UUID
    party: str
    entry_id: uuid.UUID
    correction: str
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class RequestView:
    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    status: str
    received_at: dt.date
    decision_due: dt.date
    execution_due: dt.date | None
    due: dt.date | None
    due_soon: bool
    late: bool
    entry_id: uuid.UUID | None
    correction: str | None
    statement: str | None
    recorded_by: uuid.UUID
    recorded_at: dt.datetime
    reviewed_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_on: dt.date | None
    decided_by: uuid.UUID | None
    outcome: str | None
    reasons: str | None
    carry_out: str | None
    copy_produced_at: dt.datetime | None
    carried_out_at: dt.datetime | None
    closed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    reversed_at: dt.datetime | None
    reversal_reasons: str | None
    notifications: list[NotificationView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: uuid.UUID
    client_id: uuid.UUID
    client_pseudonym: str
    kind: str
    status: str
    received_at: dt.date
    decision_due: dt.date
    execution_due: dt.date | None
    due: dt.date | None
    due_soon: bool
    late: bool


def _request_aad(client_id: uuid.UUID, request_id: uuid.UUID, label: str) -> bytes:
    return aad("rights_request", str(client_id), str(request_id), label)


def _seal(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, label: str, text: str, version: int) -> bytes:
    return tx.runtime.vault.encrypt(client_id, version, _request_aad(client_id, request_id, label), text.encode())


def _open(tx: Transaction, row: RightsRequest, label: str) -> str | None:
    sealed = getattr(row, label)
    if sealed is None:
        return None
    return tx.decrypt(row.client_id, row.key_version, _request_aad(row.client_id, row.id, label), sealed,
                      what="rights_request", object_id=row.id).decode()


def _due(row: RightsRequest) -> dt.date | None:
    """The next deadline of an open request: the decision's, then (a granted correction) its execution's."""
    if row.status in (Status.RECEIVED, Status.IN_REVIEW):
        return row.decision_due
    if row.status == Status.DECIDED and row.execution_due is not None:
        return row.execution_due
    return None


def _flags(tx: Transaction, row: RightsRequest) -> tuple[dt.date | None, bool, bool]:
    """(due, due_soon, late) as of today: late when decided or carried out after its deadline, or when
    a deadline has passed with the step still to do; due soon within the configured days."""
    due = _due(row)
    today = tx.today
    late = bool(row.late or row.carried_out_late or (due is not None and today > due))
    soon = due is not None and not late and (due - today).days <= tx.runtime.settings.requests_due_soon_days
    return due, soon, late


def _notifications(tx: Transaction, request_id: uuid.UUID) -> list[NotificationView]:
    rows = tx.session.scalars(select(Notification).where(Notification.request_id == request_id)
                              .order_by(Notification.created_at, Notification.party_id)).all()
    return [_notification_view(row) for row in rows]


def _notification_view(row: Notification) -> NotificationView:
    return NotificationView(id=row.id, request_id=row.request_id, client_id=row.client_id, party=row.party_id,
                            entry_id=row.entry_id, correction=row.correction, created_at=row.created_at,
                            acknowledged_at=row.acknowledged_at)


_COLUMNS = tuple(column.key for column in RightsRequest.__table__.columns)


def _view(tx: Transaction, row: RightsRequest, **changed: Any) -> RequestView:
    """The request as it stands (``changed``: what this unit of work has queued, not yet committed;
    applied to a copy, never to the session's row, which must not be flushed on a read connection)."""
    row = SimpleNamespace(**{**{name: getattr(row, name) for name in _COLUMNS}, **changed})
    due, soon, late = _flags(tx, row)
    return RequestView(
        id=row.id, client_id=row.client_id, kind=row.kind, status=row.status, received_at=row.received_on,
        decision_due=row.decision_due, execution_due=row.execution_due, due=due, due_soon=soon, late=late,
        entry_id=row.entry_id, correction=row.correction, statement=_open(tx, row, "statement"),
        recorded_by=row.recorded_by, recorded_at=row.recorded_at, reviewed_at=row.reviewed_at,
        decided_at=row.decided_at, decided_on=row.decided_on, decided_by=row.decided_by, outcome=row.outcome,
        reasons=_open(tx, row, "reasons"), carry_out=row.carry_out, copy_produced_at=row.copy_produced_at,
        carried_out_at=row.carried_out_at, closed_at=row.closed_at, withdrawn_at=row.withdrawn_at,
        reversed_at=row.reversed_at, reversal_reasons=_open(tx, row, "reversal_reasons"),
        notifications=_notifications(tx, row.id))


def _invalid(tx: Transaction, audit_action: AuditAction, purpose: str, facts, problems: list[dict],
             object_id: uuid.UUID | str | None = None) -> InvalidContent:
    tx.record(audit_action, outcome=AuditOutcome.DENY, reason="content_invalid", purpose=purpose,
              client_pseudonym=facts.pseudonym if facts else None, object_type="rights_request",
              object_id=str(object_id) if object_id else None)
    return InvalidContent("the request does not fit what the covenant asks for", extra={"errors": problems})


# --- recording --------------------------------------------------------------------------------------

def record_request(tx: Transaction, client_id: uuid.UUID, *, purpose: str, kind: str,
                   received_at: dt.date | None = None, entry_id: uuid.UUID | None = None,
                   correction: str | None = None, statement: str | None = None) -> RequestView:
    """Record a client's request, received today (in the covenant's time zone) unless said otherwise,
    with its decision deadline from the covenant's term.

    ``statement``: for a correction, what the client says is wrong; for an objection, the client's
    grounds; encrypted with the client's key. A correction names an entry of the client's file.
    """
    facts = tx.client_facts(client_id)
    request_id = uuid.uuid4()
    decision = tx.decide(Action.REQUEST_RECORD, facts.resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.REQUEST_OPEN, decision, purpose=purpose, client_pseudonym=facts.pseudonym,
                           object_type="rights_request", object_id=str(request_id))
        raise tx.refuse(decision)
    received = received_at or tx.today
    client = tx.session.get(Client, client_id)
    problems = []
    if received > tx.today:
        problems.append({"field": "received_at", "problem": "must not be in the future"})
    elif received < client.created_at.astimezone(tx.runtime.settings.zone).date():
        problems.append({"field": "received_at", "problem": "must not be before the client was registered"})
    if kind == Kind.CORRECTION:
        entry = tx.session.get(Entry, entry_id) if entry_id else None
        if entry is None or entry.client_id != client_id:
            problems.append({"field": "entry_id", "problem": "must be an entry of this client's file"})
    if problems:
        raise _invalid(tx, AuditAction.REQUEST_OPEN, purpose, facts, problems, request_id)
    due = decision_due(tx.covenant, kind, received)
    tx.record_decision(AuditAction.REQUEST_OPEN, decision, purpose=purpose, client_pseudonym=facts.pseudonym,
                       object_type="rights_request", object_id=str(request_id),
                       detail={"kind": kind, "received_on": received.isoformat(), "decision_due": due.isoformat()})
    version = tx.runtime.vault.latest_version(client_id)
    values = {
        "id": request_id, "client_id": client_id, "kind": kind, "status": Status.RECEIVED, "received_on": received,
        "decision_due": due, "execution_due": None, "entry_id": entry_id if kind == Kind.CORRECTION else None,
        "correction": correction if kind == Kind.CORRECTION else None,
        "statement": _seal(tx, client_id, request_id, "statement", statement, version) if statement else None,
        "recorded_by": tx.actor.staff_id, "recorded_at": tx.now, "late": False, "carried_out_late": False,
        "key_version": version,
    }
    tx.write(lambda conn: conn.execute(insert(RightsRequest).values(**values)))
    return _view(tx, RightsRequest(**values))


# --- reading ----------------------------------------------------------------------------------------

def _load(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str, action: Action,
          audit_action: AuditAction, detail=None, record_permit: bool = True):
    """Decide and record ``audit_action`` on one request of a client; the facts and the row.

    ``record_permit`` False: a permit is left for the caller to record, with what only it knows."""
    facts = tx.client_facts(client_id)
    decision = tx.decide(action, facts.resource(), purpose=purpose)
    row = None
    if decision.allowed:
        row = tx.session.get(RightsRequest, request_id)
        if row is not None and row.client_id != client_id:
            row = None
    if record_permit or row is None:
        tx.record_decision(audit_action, decision, purpose=purpose, client_pseudonym=facts.pseudonym,
                           object_type="rights_request", object_id=str(request_id),
                           detail=detail(row) if detail and row is not None else None)
    if not decision.allowed:
        raise tx.refuse(decision)
    if row is None:
        raise NotFound("no request with this id for this client")
    return facts, row


def read_request(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str) -> RequestView:
    _, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_READ,
                   audit_action=AuditAction.REQUEST_READ)
    return _view(tx, row)


def list_requests(tx: Transaction, client_id: uuid.UUID, *, purpose: str) -> list[RequestView]:
    """A client's requests, oldest received first."""
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.REQUEST_READ, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.REQUEST_READ, client_pseudonym=facts.pseudonym,
                            object_type="client", object_id=str(client_id))
    if not decision.allowed:
        raise tx.refuse(decision)
    rows = tx.session.scalars(select(RightsRequest).where(RightsRequest.client_id == client_id)
                              .order_by(RightsRequest.received_on, RightsRequest.recorded_at)).all()
    return [_view(tx, row) for row in rows]


def queue(tx: Transaction, *, purpose: str) -> list[QueueItem]:
    """The acting client manager's open requests, over all the clients they manage, soonest due first
    (those with nothing due, waiting to be closed, last)."""
    decision = tx.decide(Action.REQUEST_LIST, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.REQUEST_LIST, decision, purpose=purpose, object_type="rights_request")
        raise tx.refuse(decision)
    rows = tx.session.execute(
        select(RightsRequest, Client.pseudonym).join(Client, Client.id == RightsRequest.client_id)
        .where(Client.client_manager_id == tx.actor.staff_id, RightsRequest.status.in_(list(OPEN)))).all()
    items = []
    for row, pseudonym in rows:
        due, soon, late = _flags(tx, row)
        items.append(QueueItem(id=row.id, client_id=row.client_id, client_pseudonym=pseudonym, kind=row.kind,
                               status=row.status, received_at=row.received_on, decision_due=row.decision_due,
                               execution_due=row.execution_due, due=due, due_soon=soon, late=late))
    items.sort(key=lambda item: (item.due is None, item.due or dt.date.max, item.received_at, str(item.id)))
    tx.record_decision(AuditAction.REQUEST_LIST, decision, purpose=purpose, object_type="rights_request",
                       detail={"returned": len(items), "late": sum(item.late for item in items),
                               "due_soon": sum(item.due_soon for item in items)})
    return items


# --- transitions ------------------------------------------------------------------------------------

def _illegal(row: RightsRequest, step: str) -> Conflict:
    return Conflict(f"a {row.kind} request that is {row.status} cannot be {step}",
                    extra={"request_status": row.status, "kind": row.kind})


def _move(tx: Transaction, row: RightsRequest, values: dict[str, Any]) -> None:
    """Queue the step; it happens only if the request is still where it was read (else 409)."""
    request_id, status = row.id, row.status

    def write(conn) -> None:
        done = conn.execute(update(RightsRequest).where(RightsRequest.id == request_id,
                                                        RightsRequest.status == status).values(**values)).rowcount
        if done != 1:
            raise Conflict("the request changed meanwhile; read it again")

    tx.write(write)


def _steps(to: str):
    """The event's detail for a step: from which status to which."""
    return lambda row: {"from": row.status, "to": to}


def review_request(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str) -> RequestView:
    _, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_HANDLE,
                   audit_action=AuditAction.REQUEST_REVIEW, detail=_steps(Status.IN_REVIEW))
    if row.status != Status.RECEIVED:
        raise _illegal(row, "taken into review")
    values = {"status": Status.IN_REVIEW, "reviewed_at": tx.now}
    _move(tx, row, values)
    return _view(tx, row, **values)


def _set_client_status(tx: Transaction, facts, row: RightsRequest, status: str, *, purpose: str) -> None:
    """Art. 14: stop (or restart) all processing of the client's data; recorded as its own event."""
    client_id = row.client_id
    tx.write(lambda conn: conn.execute(update(Client).where(Client.id == client_id).values(status=status)))
    action = (AuditAction.CLIENT_PROCESSING_STOPPED if status == ClientStatus.PROCESSING_STOPPED
              else AuditAction.CLIENT_PROCESSING_RESTARTED)
    tx.record(action, outcome=AuditOutcome.PERMIT, reason="permitted", purpose=purpose,
              authority=f"rights_request:{row.id}", client_pseudonym=facts.pseudonym, object_type="client",
              object_id=str(client_id), detail={"request": str(row.id)})


def decide_request(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str, outcome: str,
                   reasons: str, correction: str | None = None) -> RequestView:
    """Decide a request in review, in writing, with reasons (art. 13: a refusal is reasoned; art. 14).

    A correction granted (in part) gets its execution deadline and says what will be done (by
    default what was asked); an objection found justified stops processing at once. A decision after
    ``decision_due`` is marked late, on the request and in the event.
    """
    today = tx.today

    def detail(r: RightsRequest) -> dict:
        late = today > r.decision_due
        return {"from": r.status, "to": Status.DECIDED, "outcome": outcome, "late": late,
                "decision_due": r.decision_due.isoformat()}

    facts, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_DECIDE,
                       audit_action=AuditAction.REQUEST_DECIDE, detail=detail)
    if row.status != Status.IN_REVIEW:
        raise _illegal(row, "decided")
    if outcome not in OUTCOMES[Kind(row.kind)]:
        raise _invalid(tx, AuditAction.REQUEST_DECIDE, purpose, facts, [
            {"field": "outcome", "problem": f"for {row.kind}: one of {', '.join(OUTCOMES[Kind(row.kind)])}"}],
            request_id)
    if row.kind == Kind.ACCESS and outcome in GRANTED and row.copy_produced_at is None:
        raise Conflict("produce the client's copy before granting access", extra={"request_status": row.status})
    carry = None
    execution = None
    if row.kind == Kind.CORRECTION and outcome in GRANTED:
        carry = correction or row.correction
        execution = execution_due(tx.covenant, today)
    values = {"status": Status.DECIDED, "decided_at": tx.now, "decided_on": today, "decided_by": tx.actor.staff_id,
              "outcome": outcome, "reasons": _seal(tx, client_id, row.id, "reasons", reasons, row.key_version),
              "carry_out": carry, "execution_due": execution, "late": today > row.decision_due}
    _move(tx, row, values)
    if row.kind == Kind.OBJECTION and outcome == Outcome.JUSTIFIED:
        _set_client_status(tx, facts, row, ClientStatus.PROCESSING_STOPPED, purpose=purpose)
    return _view(tx, row, **values)


def close_request(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str) -> RequestView:
    """Close a decided request with nothing left to carry out, or a carried-out correction."""
    _, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_HANDLE,
                   audit_action=AuditAction.REQUEST_CLOSE, detail=_steps(Status.CLOSED))
    pending = row.status == Status.DECIDED and row.carry_out is not None
    if row.status not in (Status.DECIDED, Status.CARRIED_OUT) or pending:
        raise _illegal(row, "closed" + (" before the correction is carried out" if pending else ""))
    values = {"status": Status.CLOSED, "closed_at": tx.now}
    _move(tx, row, values)
    return _view(tx, row, **values)


def withdraw_request(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str) -> RequestView:
    """The client withdraws a request not yet carried out or closed. A justified objection withdrawn
    restarts processing: nothing stops it any more."""
    facts, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_HANDLE,
                       audit_action=AuditAction.REQUEST_WITHDRAW, detail=_steps(Status.WITHDRAWN))
    if row.status not in OPEN:
        raise _illegal(row, "withdrawn")
    values = {"status": Status.WITHDRAWN, "withdrawn_at": tx.now}
    _move(tx, row, values)
    if row.kind == Kind.OBJECTION and row.outcome == Outcome.JUSTIFIED and row.reversed_at is None:
        _set_client_status(tx, facts, row, ClientStatus.ACTIVE, purpose=purpose)
    return _view(tx, row, **values)


def reverse_decision(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str,
                     reasons: str) -> RequestView:
    """Reverse a justified objection's decision (on reconsideration, or after an appeal): processing
    restarts. Once, with reasons; the request keeps its status and history."""
    facts, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_DECIDE,
                       audit_action=AuditAction.REQUEST_REVERSE)
    if (row.kind != Kind.OBJECTION or row.outcome != Outcome.JUSTIFIED or row.reversed_at is not None
            or row.status not in (Status.DECIDED, Status.CLOSED)):
        raise _illegal(row, "reversed")
    values = {"reversed_at": tx.now,
              "reversal_reasons": _seal(tx, client_id, row.id, "reversal_reasons", reasons, row.key_version)}
    request_id_, status = row.id, row.status

    def write(conn) -> None:
        done = conn.execute(update(RightsRequest).where(
            RightsRequest.id == request_id_, RightsRequest.status == status,
            RightsRequest.reversed_at.is_(None)).values(**values)).rowcount
        if done != 1:
            raise Conflict("the request changed meanwhile; read it again")

    tx.write(write)
    _set_client_status(tx, facts, row, ClientStatus.ACTIVE, purpose=purpose)
    return _view(tx, row, **values)


# --- carrying out a correction ------------------------------------------------------------------------

def _corrected_payload(tx: Transaction, entry: Entry, correction: str, content: Mapping[str, Any] | None,
                       problems: list[dict]) -> bytes | None:
    """The entry's new sealed payload: ``content`` replaces (improve) or is added to (complete) the
    old; checked against the entry kind's data set (art. 6)."""
    old = json.loads(tx.decrypt(entry.client_id, entry.key_version, records_service._entry_aad(entry),
                                entry.ciphertext, what="entry", object_id=entry.id))
    if not content:
        problems.append({"field": "content", "problem": "the corrected content is required"})
        return None
    if correction == Correction.IMPROVE:
        new = dict(content)
    else:
        new = dict(old["content"])
        for name, value in content.items():
            before = new.get(name)
            new[name] = f"{before}\n{value}" if isinstance(before, str) and isinstance(value, str) and before else value
    kind = tx.covenant.entry_kinds[entry.kind]
    problems += [{"field": f"content.{p.field}", "problem": p.problem} for p in check_content(tx.covenant, kind, new)]
    return json.dumps({"content": new, "source_reference": old["source_reference"]},
                      separators=(",", ":"), ensure_ascii=False).encode()


def _reseal(tx: Transaction, client_id: uuid.UUID, version: int, *, replace: dict[uuid.UUID, bytes],
            drop: set[uuid.UUID]) -> list[tuple[Any, uuid.UUID, dict]]:
    """Everything the client's data key sealed, sealed again under data key ``version`` (``replace``:
    an entry's new payload; ``drop``: entries not to carry over). Returns the updates to make."""
    vault, session = tx.runtime.vault, tx.session
    updates = []

    def again(row, old_aad: bytes, sealed: bytes, what: str, plaintext: bytes | None = None) -> bytes:
        if plaintext is None:
            plaintext = tx.decrypt(client_id, row.key_version, old_aad, sealed, what=what, object_id=row.id)
        return vault.encrypt(client_id, version, old_aad, plaintext)

    for entry in session.scalars(select(Entry).where(Entry.client_id == client_id)):
        if entry.id in drop:
            continue
        aad_ = records_service._entry_aad(entry)
        updates.append((Entry.__table__, entry.id, {
            "ciphertext": again(entry, aad_, entry.ciphertext, "entry", replace.get(entry.id)), "key_version": version}))
    for link in session.scalars(select(CareLink).where(CareLink.client_id == client_id)):
        values = {"key_version": version,
                  "reason": again(link, care_service._link_aad(client_id, link.id, "reason"), link.reason, "care_link")}
        if link.end_reason is not None:
            values["end_reason"] = again(link, care_service._link_aad(client_id, link.id, "end_reason"),
                                         link.end_reason, "care_link")
        updates.append((CareLink.__table__, link.id, values))
    for window in session.scalars(select(EmergencyAccess).where(EmergencyAccess.client_id == client_id)):
        values = {"key_version": version, "reason": again(
            window, emergency_service._aad(client_id, window.id, "reason"), window.reason, "emergency_access")}
        if window.review_note is not None:
            values["review_note"] = again(window, emergency_service._aad(client_id, window.id, "review_note"),
                                          window.review_note, "emergency_access")
        updates.append((EmergencyAccess.__table__, window.id, values))
    for request in session.scalars(select(RightsRequest).where(RightsRequest.client_id == client_id)):
        values = {"key_version": version}
        for label in ("statement", "reasons", "reversal_reasons"):
            sealed = getattr(request, label)
            if sealed is not None:
                values[label] = again(request, _request_aad(client_id, request.id, label), sealed, "rights_request")
        updates.append((RightsRequest.__table__, request.id, values))
    for hold in session.scalars(select(LegalHold).where(LegalHold.client_id == client_id)):
        updates.append((LegalHold.__table__, hold.id, {"key_version": version, "reason": again(
            hold, hold_aad(client_id, hold.id), hold.reason, "legal_hold")}))
    return updates


_SEALED_TABLES = (Entry.__table__, CareLink.__table__, EmergencyAccess.__table__, RightsRequest.__table__,
                  LegalHold.__table__)


def _recipients(tx: Transaction, entry: Entry, pseudonym: str) -> list[str]:
    """GDPR art. 19: the parties that received the entry's content, from the trail: permitted reads of
    the entry, and permitted listings of the client's file in the entry's category since it was written."""
    events = tx.session.execute(
        select(AuditEvent.action, AuditEvent.object_id, AuditEvent.categories, AuditEvent.actor_party)
        .where(AuditEvent.client_pseudonym == pseudonym, AuditEvent.outcome == AuditOutcome.PERMIT.value,
               AuditEvent.action.in_(_READS), AuditEvent.occurred_at >= entry.created_at)).all()
    parties = set()
    for action, object_id, categories, party in events:
        if party not in tx.covenant.parties:
            continue
        if action == AuditAction.RECORD_READ.value and object_id == str(entry.id):
            parties.add(party)
        elif action == AuditAction.RECORD_LIST.value and entry.category in (categories or "").split(","):
            parties.add(party)
    return sorted(parties)


def _truncate_data_wal(tx: Transaction) -> None:
    """SQLite: fold the data database's WAL into the file and empty it, so that the pages holding the
    superseded ciphertext are gone from the WAL too (the file's own copies were overwritten:
    ``secure_delete``). PostgreSQL: nothing to do here; the key is what makes its dead tuples useless."""
    truncate_data_wal(tx.runtime.settings.data_url)


def carry_out(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str,
              content: Mapping[str, Any] | None = None) -> RequestView:
    """Carry out a granted correction (art. 13.3: within two weeks of the decision).

    improve: ``content`` replaces the entry's; complete: it is added to it; delete: the entry is
    destroyed; shield: it is hidden from all but the client manager. For the first three the old
    content is destroyed: the client's content is sealed again under a new data key in the same
    transaction, and the old data keys are destroyed once that is durable.
    """
    today = tx.today

    def detail(r: RightsRequest) -> dict:
        return {"from": r.status, "to": Status.CARRIED_OUT, "correction": r.carry_out,
                "late": r.execution_due is not None and today > r.execution_due}

    facts, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_HANDLE,
                       audit_action=AuditAction.REQUEST_CARRY_OUT, detail=detail)
    if row.status != Status.DECIDED or row.carry_out is None:
        raise _illegal(row, "carried out")
    correction = row.carry_out
    entry = tx.session.get(Entry, row.entry_id)
    if entry is None or entry.client_id != client_id:
        raise Conflict("the entry to correct is no longer in the client's file")
    problems: list[dict] = []
    payload = None
    if correction in (Correction.IMPROVE, Correction.COMPLETE):
        payload = _corrected_payload(tx, entry, correction, content, problems)
    elif content:
        problems.append({"field": "content", "problem": f"no content for a correction that will {correction}"})
    if problems:
        raise _invalid(tx, AuditAction.REQUEST_CARRY_OUT, purpose, facts, problems, request_id)

    entry_id, now = entry.id, tx.now
    recipients = _recipients(tx, entry, facts.pseudonym)
    event = {"purpose": purpose, "authority": f"rights_request:{row.id}", "client_pseudonym": facts.pseudonym}
    if correction == Correction.SHIELD:
        tx.write(lambda conn: conn.execute(update(Entry).where(Entry.id == entry_id).values(shielded_at=now)))
        tx.record(AuditAction.RECORD_SHIELD, outcome=AuditOutcome.PERMIT, reason="permitted", object_type="entry",
                  object_id=str(entry_id), categories=entry.category, detail={"request": str(row.id)}, **event)
    else:
        _destroy_old_content(tx, row, entry, payload, correction, event)
    notices = [{"id": uuid.uuid4(), "request_id": row.id, "client_id": client_id, "party_id": party,
                "entry_id": entry_id, "correction": correction, "created_at": now, "acknowledged_at": None,
                "acknowledged_by": None} for party in recipients]
    if notices:
        tx.write(lambda conn: conn.execute(insert(Notification), notices))
    values = {"status": Status.CARRIED_OUT, "carried_out_at": now,
              "carried_out_late": row.execution_due is not None and today > row.execution_due}
    _move(tx, row, values)
    view = _view(tx, row, **values)
    return _with_notices(view, [_notification_view(Notification(**notice)) for notice in notices])


def _with_notices(view: RequestView, notices: list[NotificationView]) -> RequestView:
    return replace(view, notifications=[*view.notifications, *notices])


def _destroy_old_content(tx: Transaction, row: RightsRequest, entry: Entry, payload: bytes | None,
                         correction: str, event: dict) -> None:
    client_id, entry_id = row.client_id, entry.id
    vault = tx.runtime.vault
    version = vault.renew_client_key(client_id, tx.now)
    drop = {entry_id} if correction == Correction.DELETE else set()
    updates = _reseal(tx, client_id, version, replace={entry_id: payload} if payload else {}, drop=drop)

    def write(conn) -> None:
        for table, object_id, values in updates:
            conn.execute(update(table).where(table.c.id == object_id).values(**values))
        if drop:
            conn.execute(delete(Entry).where(Entry.id == entry_id))
        # Fail closed: anything of the client still under an old key (written meanwhile) would be
        # lost with that key; then nothing happens and the step can be tried again.
        for table in _SEALED_TABLES:
            left = conn.scalar(select(func.count()).select_from(table).where(
                table.c.client_id == client_id, table.c.key_version < version))
            if left:
                raise Conflict("the client's file changed meanwhile; carry the correction out again")

    tx.write(write)
    action = AuditAction.RECORD_DELETE if correction == Correction.DELETE else AuditAction.RECORD_CORRECT
    tx.record(action, outcome=AuditOutcome.PERMIT, reason="permitted", object_type="entry", object_id=str(entry_id),
              categories=entry.category, detail={"request": str(row.id), "correction": correction}, **event)
    tx.record(AuditAction.CLIENT_KEY_RENEW, outcome=AuditOutcome.PERMIT, reason="permitted", object_type="client",
              object_id=str(client_id), detail={"key_version": version, "request": str(row.id)}, **event)

    runtime = tx.runtime

    def shred() -> None:
        # A write that took the old key just before it was renewed and committed just after this
        # change would be lost with it: keep the old key then (logged) rather than lose data.
        with runtime.engine.connect() as conn:
            left = sum(conn.scalar(select(func.count()).select_from(table).where(
                table.c.client_id == client_id, table.c.key_version < version)) for table in _SEALED_TABLES)
        if left:
            log.error("client_keys_kept", client_id=str(client_id), key_version=version, rows_under_old_keys=left)
            return
        destroyed = vault.destroy_client_keys_before(client_id, version)
        _truncate_data_wal(tx)
        log.info("client_keys_destroyed", client_id=str(client_id), destroyed=destroyed, key_version=version)

    tx.after_commit(shred)


# --- the access copy --------------------------------------------------------------------------------

def produce_copy(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str,
                 export_format: str = "json") -> dict[str, Any]:
    """The client's copy (art. 11-12): the client's summary, care team and every entry, except those
    withheld on a confidentiality ground (named with the ground, no content), and who accessed the
    file: permitted reads by party and day, from the trail, without staff. ``export_format`` names,
    in the event, the form the copy leaves in (``json``, or ``pdf``: :func:`produce_copy_pdf`)."""
    facts, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_HANDLE,
                       audit_action=AuditAction.CLIENT_EXPORT, record_permit=False)
    event = {"purpose": purpose, "authority": tx.decide(Action.REQUEST_HANDLE, facts.resource(),
                                                          purpose=purpose).authority,
             "client_pseudonym": facts.pseudonym, "object_type": "rights_request", "object_id": str(row.id)}
    if row.kind != Kind.ACCESS or row.status not in (Status.IN_REVIEW, Status.DECIDED):
        tx.record(AuditAction.CLIENT_EXPORT, outcome=AuditOutcome.PERMIT, reason="permitted", **event)
        raise _illegal(row, "answered with a copy")
    session, zone = tx.session, tx.runtime.settings.zone
    client = session.get(Client, client_id)
    entries, withheld = [], []
    for entry in session.scalars(select(Entry).where(Entry.client_id == client_id)
                                 .order_by(Entry.created_at, Entry.id)):
        if entry.confidentiality_ground:
            ground = tx.covenant.confidentiality_grounds.get(entry.confidentiality_ground)
            withheld.append({"id": str(entry.id), "kind": entry.kind, "created_at": entry.created_at.isoformat(),
                             "ground": entry.confidentiality_ground, "ground_name": ground.name if ground else None})
            continue
        view = records_service._view(tx, entry)
        entries.append({"id": str(view.id), "kind": view.kind, "category": view.category,
                        "source_party": view.source_party, "created_at": view.created_at.isoformat(),
                        "content": view.content})
    team = []
    for link, party in session.execute(select(CareLink, Staff.party_id).join(Staff, Staff.id == CareLink.staff_id)
                                       .where(CareLink.client_id == client_id).order_by(CareLink.since)).all():
        team.append({"party": party, "since": link.since.isoformat(),
                     "until": link.until.isoformat() if link.until else None,
                     "reason": care_service._open_reason(tx, link, "reason", link.reason)})
    reads = Counter()
    for party, moment in session.execute(
            select(AuditEvent.actor_party, AuditEvent.occurred_at).where(
                AuditEvent.client_pseudonym == facts.pseudonym, AuditEvent.outcome == AuditOutcome.PERMIT.value,
                AuditEvent.action.in_(_READS))).all():
        reads[(party or "gateway", moment.astimezone(zone).date().isoformat())] += 1
    accesses = [{"party": party, "date": day, "reads": count} for (party, day), count in sorted(reads.items(),
                                                                                              key=lambda i: (i[0][1], i[0][0]))]
    tx.record(AuditAction.CLIENT_EXPORT, outcome=AuditOutcome.PERMIT, reason="permitted", **event,
              detail={"entries": len(entries), "withheld": len(withheld), "accesses": len(accesses),
                      "format": export_format})
    if row.copy_produced_at is None:
        now, rid = tx.now, row.id
        tx.write(lambda conn: conn.execute(update(RightsRequest).where(
            RightsRequest.id == rid, RightsRequest.copy_produced_at.is_(None)).values(copy_produced_at=now)))
    return {
        "request_id": str(row.id), "produced_at": tx.now.isoformat(),
        "client": {"pseudonym": client.pseudonym, "status": client.status,
                   "informed_at": client.informed_at.isoformat() if client.informed_at else None,
                   "registered_at": client.created_at.isoformat(),
                   "last_contact_at": client.last_contact_at.isoformat() if client.last_contact_at else None},
        "team": team, "entries": entries, "withheld": withheld, "accesses": accesses,
    }


# --- the written decision and the printable copy -----------------------------------------------------

def _local_day(tx: Transaction, moment: str) -> dt.date:
    return dt.datetime.fromisoformat(moment).astimezone(tx.runtime.settings.zone).date()


def produce_copy_pdf(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str,
                     language: letters.Language) -> bytes:
    """The access copy as a printable PDF for the client: the same copy as :func:`produce_copy` (decided
    and recorded there, as ``client.export`` with the format), printed with the covenant's names for
    kinds, categories, grounds and parties. Rendered in memory; nothing of it is kept or logged."""
    copy = produce_copy(tx, client_id, request_id, purpose=purpose, export_format="pdf")
    covenant = tx.covenant

    def name(table: Mapping[str, Any], code: str | None) -> str:
        found = table.get(code) if code else None
        return found.name if found is not None else (code or "")

    printable = {
        "controller": letters.controller_name(covenant), "addressee": copy["client"]["pseudonym"],
        "reference": copy["request_id"], "produced_on": tx.today,
        "entries": [{"kind": name(covenant.entry_kinds, entry["kind"]),
                     "category": name(covenant.categories, entry["category"]),
                     "recorded_on": _local_day(tx, entry["created_at"]),
                     "party": name(covenant.parties, entry["source_party"]), "content": entry["content"]}
                    for entry in copy["entries"]],
        "withheld": [{"kind": name(covenant.entry_kinds, entry["kind"]),
                      "recorded_on": _local_day(tx, entry["created_at"]),
                      "ground": entry["ground_name"] or entry["ground"]} for entry in copy["withheld"]],
        "accesses": [{"party": name(covenant.parties, access["party"]), "on": access["date"]}
                     for access in copy["accesses"]],
    }
    return letters.render_access_copy(language, printable)


def produce_letter(tx: Transaction, client_id: uuid.UUID, request_id: uuid.UUID, *, purpose: str,
                   language: letters.Language) -> bytes:
    """The written, reasoned decision to the client (art. 13.2; GDPR art. 12(1), (4)) as PDF: the
    outcome, the reasons (decrypted in memory for the letter only), the dates and, for a correction
    granted, what is done and by when. Decided and recorded as ``request.letter`` (no content in the
    event); 409 while the request has no decision."""
    facts, row = _load(tx, client_id, request_id, purpose=purpose, action=Action.REQUEST_HANDLE,
                       audit_action=AuditAction.REQUEST_LETTER, record_permit=False)
    event = {"purpose": purpose, "authority": tx.decide(Action.REQUEST_HANDLE, facts.resource(),
                                                          purpose=purpose).authority,
             "client_pseudonym": facts.pseudonym, "object_type": "rights_request", "object_id": str(row.id)}
    if row.outcome is None or row.decided_on is None:
        tx.record(AuditAction.REQUEST_LETTER, outcome=AuditOutcome.PERMIT, reason="permitted", **event,
                  detail={"language": language, "written": False})
        raise _illegal(row, "answered with a letter before it is decided")
    controller = tx.covenant.parties[tx.covenant.controller]
    pdf = letters.render_letter(letters.LetterKind(row.kind), language, letters.LetterFacts(
        controller=controller.name, addressee=facts.pseudonym, reference=str(row.id), received_on=row.received_on,
        decided_on=row.decided_on, decision_due=row.decision_due, outcome=letters.Outcome(row.outcome),
        reasons=_open(tx, row, "reasons") or "",
        measures=(letters.Measure(row.carry_out),) if row.carry_out else (), execution_due=row.execution_due,
        administrative_body=controller.kind == "municipality"))
    tx.record(AuditAction.REQUEST_LETTER, outcome=AuditOutcome.PERMIT, reason="permitted", **event,
              detail={"outcome": row.outcome, "language": language, "written": True})
    return pdf


# --- notifications (GDPR art. 19) -------------------------------------------------------------------

def list_notifications(tx: Transaction, *, purpose: str, pending: bool | None = None) -> list[NotificationView]:
    """The notifications of corrections sent to the caller's party, oldest first."""
    decision = tx.decide(Action.NOTIFICATION_READ, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.NOTIFICATION_LIST, decision, purpose=purpose, object_type="notification")
        raise tx.refuse(decision)
    statement = select(Notification).where(Notification.party_id == tx.actor.subject.party)
    if pending is not None:
        statement = statement.where(Notification.acknowledged_at.is_(None) if pending
                                    else Notification.acknowledged_at.is_not(None))
    rows = tx.session.scalars(statement.order_by(Notification.created_at, Notification.id)).all()
    tx.record_decision(AuditAction.NOTIFICATION_LIST, decision, purpose=purpose, object_type="notification",
                       detail={"returned": len(rows), "pending": pending})
    return [_notification_view(row) for row in rows]


def acknowledge_notification(tx: Transaction, notification_id: uuid.UUID, *, purpose: str) -> NotificationView:
    """The caller's party has corrected its own copy: the notification is acknowledged (once)."""
    decision = tx.decide(Action.NOTIFICATION_READ, Resource(), purpose=purpose)
    row = tx.session.get(Notification, notification_id) if decision.allowed else None
    if row is not None and row.party_id != tx.actor.subject.party:
        row = None  # another party's notification is not the caller's to know of
    pseudonym = tx.session.scalar(select(Client.pseudonym).where(Client.id == row.client_id)) if row else None
    tx.record_decision(AuditAction.NOTIFICATION_ACKNOWLEDGE, decision, purpose=purpose, client_pseudonym=pseudonym,
                       object_type="notification", object_id=str(notification_id),
                       detail={"request": str(row.request_id)} if row else None)
    if not decision.allowed:
        raise tx.refuse(decision)
    if row is None:
        raise NotFound("no notification with this id for your party")
    if row.acknowledged_at is not None:
        raise Conflict("this notification has already been acknowledged")
    now, by = tx.now, tx.actor.audit_id

    def write(conn) -> None:
        done = conn.execute(update(Notification).where(Notification.id == notification_id,
                                                       Notification.acknowledged_at.is_(None))
                            .values(acknowledged_at=now, acknowledged_by=by)).rowcount
        if done != 1:
            raise Conflict("this notification has already been acknowledged")

    tx.write(write)
    return replace(_notification_view(row), acknowledged_at=now)
