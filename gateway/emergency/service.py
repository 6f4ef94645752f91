"""Break-the-glass: opening a client's file in an emergency without a care-team link, and its review.

Instrument 2e gives the file only to the officials linked to the client. Where the covenant allows it
(``[emergency]``), a staff member who is not linked may open the file for a short window, always with
a stated reason; ``covenant.decide`` then lets the window stand in for the link when they read (and
only when they read), every such read is flagged in the trail, and a privacy officer reviews each
opening afterwards: justified or not (art. 8: access measures and their supervision).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import and_, insert, or_, select, update

from audit import AuditAction
from covenant import Action, Resource
from gateway.clients.models import Client
from gateway.emergency.models import EmergencyAccess, ReviewOutcome
from gateway.errors import Conflict, NotFound
from gateway.pagination import decode_cursor, encode_cursor
from gateway.parties.models import Staff
from gateway.transaction import Transaction
from gateway.vault import aad

log = structlog.get_logger(__name__)

MIN_REASON, MAX_REASON = 10, 500
MAX_NOTE = 500
MAX_PAGE = 100
OUTCOMES = (ReviewOutcome.JUSTIFIED, ReviewOutcome.UNJUSTIFIED)


@dataclass(frozen=True, slots=True)
class Opened:
    id: uuid.UUID
    until: dt.datetime


@dataclass(frozen=True, slots=True)
class EmergencyView:
    """An emergency window as a privacy officer reviews it, its reason (and note) decrypted."""

    id: uuid.UUID
    client_id: uuid.UUID
    client_pseudonym: str
    staff_id: uuid.UUID
    party: str
    reason: str
    since: dt.datetime
    until: dt.datetime
    reviewed_at: dt.datetime | None
    reviewed_by: uuid.UUID | None
    review_outcome: str | None
    review_note: str | None


@dataclass(frozen=True, slots=True)
class EmergencyPage:
    items: list[EmergencyView]
    next_cursor: str | None


def _aad(client_id: uuid.UUID, access_id: uuid.UUID, label: str) -> bytes:
    return aad("emergency_access", str(client_id), str(access_id), label)


def _seal(tx: Transaction, client_id: uuid.UUID, access_id: uuid.UUID, label: str, text: str,
          version: int) -> bytes:
    return tx.runtime.vault.encrypt(client_id, version, _aad(client_id, access_id, label), text.encode())


def _open(tx: Transaction, row: EmergencyAccess, label: str, sealed: bytes) -> str:
    return tx.decrypt(row.client_id, row.key_version, _aad(row.client_id, row.id, label), sealed,
                      what="emergency_access", object_id=row.id).decode()


def open_emergency(tx: Transaction, client_id: uuid.UUID, *, purpose: str, reason: str) -> Opened:
    """Open the client's file to the acting staff member for the covenant's emergency window, from now.

    The reason's length (10 to 500 characters) is checked where the request is parsed (422); here it
    is encrypted with the client's key. 409 while the member already has an open window on the client.
    """
    facts = tx.client_facts(client_id)
    access_id = uuid.uuid4()
    decision = tx.authorize(Action.EMERGENCY_OPEN, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.EMERGENCY_OPEN, client_pseudonym=facts.pseudonym,
                            object_type="emergency_access", object_id=str(access_id),
                            detail={"emergency": True})
    if not decision.allowed:
        raise tx.refuse(decision)
    now = tx.now
    current = facts.emergency
    if current is not None and current.since <= now < current.until:
        raise Conflict("you already have an open emergency window on this client's file",
                       extra={"until": current.until.isoformat()})
    until = now + tx.covenant.emergency.window
    version = tx.runtime.vault.latest_version(client_id)
    values = {"id": access_id, "client_id": client_id, "staff_id": tx.actor.staff_id,
              "reason": _seal(tx, client_id, access_id, "reason", reason, version), "since": now, "until": until,
              "reviewed_at": None, "reviewed_by": None, "review_outcome": None, "review_note": None,
              "key_version": version}
    staff_id = tx.actor.staff_id

    def write(conn) -> None:
        # Checked again where it is written, inside the committing transaction (the writer lock
        # serialises two openings at once): one open window per member and client.
        if conn.execute(select(EmergencyAccess.id).where(
                EmergencyAccess.client_id == client_id, EmergencyAccess.staff_id == staff_id,
                EmergencyAccess.since <= now, EmergencyAccess.until > now)).first() is not None:
            raise Conflict("you already have an open emergency window on this client's file")
        conn.execute(insert(EmergencyAccess).values(**values))

    tx.write(write)
    return Opened(id=access_id, until=until)


def _scope(tx: Transaction):
    """A privacy officer of the controller (art. 7) reviews every window; one of another party reviews
    the windows its own party's staff opened (as with the audit trail)."""
    subject = tx.actor.subject
    return None if subject.party == tx.covenant.controller else subject.party


def _select():
    return (select(EmergencyAccess, Client.pseudonym, Staff.party_id)
            .join(Client, Client.id == EmergencyAccess.client_id)
            .join(Staff, Staff.id == EmergencyAccess.staff_id))


def _view(tx: Transaction, row: EmergencyAccess, pseudonym: str, party: str) -> EmergencyView:
    return EmergencyView(id=row.id, client_id=row.client_id, client_pseudonym=pseudonym, staff_id=row.staff_id,
                         party=party, reason=_open(tx, row, "reason", row.reason), since=row.since, until=row.until,
                         reviewed_at=row.reviewed_at, reviewed_by=row.reviewed_by,
                         review_outcome=row.review_outcome,
                         review_note=_open(tx, row, "review_note", row.review_note) if row.review_note else None)


def list_emergencies(tx: Transaction, *, purpose: str, pending: bool | None = None, limit: int = 50,
                     cursor: str | None = None) -> EmergencyPage:
    """Emergency windows, oldest first, a page at a time, for privacy officers; ``pending`` True: only
    those not yet reviewed, False: only those reviewed."""
    after = decode_cursor(cursor) if cursor else None
    limit = max(1, min(limit, MAX_PAGE))
    decision = tx.decide(Action.EMERGENCY_REVIEW, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.EMERGENCY_LIST, decision, purpose=purpose, object_type="emergency_access",
                           detail={"pending": pending})
        raise tx.refuse(decision)
    statement = _select()
    party = _scope(tx)
    if party is not None:
        statement = statement.where(Staff.party_id == party)
    if pending is not None:
        statement = statement.where(EmergencyAccess.reviewed_at.is_(None) if pending
                                    else EmergencyAccess.reviewed_at.is_not(None))
    if after is not None:
        moment, last_id = after
        statement = statement.where(or_(EmergencyAccess.since > moment,
                                        and_(EmergencyAccess.since == moment, EmergencyAccess.id > last_id)))
    rows = tx.session.execute(statement.order_by(EmergencyAccess.since, EmergencyAccess.id).limit(limit + 1)).all()
    items = [_view(tx, *row) for row in rows[:limit]]
    tx.record_decision(AuditAction.EMERGENCY_LIST, decision, purpose=purpose, object_type="emergency_access",
                       detail={"pending": pending, "returned": len(items), "scope": "own_party" if party else "all"})
    last = rows[limit - 1][0] if len(rows) > limit else None
    return EmergencyPage(items=items, next_cursor=encode_cursor(last.since, last.id) if last else None)


def review_emergency(tx: Transaction, access_id: uuid.UUID, *, purpose: str, outcome: str,
                     note: str) -> EmergencyView:
    """Record a privacy officer's finding on an emergency window: justified or not, with a note
    (encrypted with the client's key). Once only: 409 for a window already reviewed."""
    decision = tx.decide(Action.EMERGENCY_REVIEW, Resource(), purpose=purpose)
    found = tx.session.execute(_select().where(EmergencyAccess.id == access_id)).first() if decision.allowed else None
    party = _scope(tx) if decision.allowed else None
    if found is not None and party is not None and found[2] != party:
        found = None  # another party's window is not this officer's to review, nor to know of
    tx.record_decision(AuditAction.EMERGENCY_REVIEW, decision, purpose=purpose,
                       client_pseudonym=found[1] if found else None, object_type="emergency_access",
                       object_id=str(access_id), detail={"outcome": outcome} if decision.allowed else None)
    if not decision.allowed:
        raise tx.refuse(decision)
    if found is None:
        raise NotFound("no emergency window with this id")
    row, pseudonym, staff_party = found
    if row.reviewed_at is not None:
        raise Conflict("this emergency window has already been reviewed")
    now, reviewer = tx.now, tx.actor.staff_id
    sealed = _seal(tx, row.client_id, row.id, "review_note", note, row.key_version)

    def write(conn) -> None:
        done = conn.execute(update(EmergencyAccess).where(
            EmergencyAccess.id == access_id, EmergencyAccess.reviewed_at.is_(None)
        ).values(reviewed_at=now, reviewed_by=reviewer, review_outcome=outcome, review_note=sealed)).rowcount
        if done != 1:
            raise Conflict("this emergency window has already been reviewed")

    tx.write(write)
    return EmergencyView(id=row.id, client_id=row.client_id, client_pseudonym=pseudonym, staff_id=row.staff_id,
                         party=staff_party, reason=_open(tx, row, "reason", row.reason), since=row.since,
                         until=row.until, reviewed_at=now, reviewed_by=reviewer, review_outcome=outcome,
                         review_note=note)
