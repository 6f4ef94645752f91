"""Legal holds (art. 9.3): a recorded reason to keep a client's file past its term, for as long as needed.

A hold is placed, read and released by the controller's privacy officers (scope ``requests:handle``,
purpose ``subject_rights``; see :func:`covenant.decide._decide_hold` for why them), each time decided
and recorded (``retention.hold``, ``retention.hold_list``, ``retention.hold_release``), refusals too.
The purge (:mod:`gateway.retention.service`) skips a client while a hold is in force: placed, not
released, and its ``until_on`` (the last day, inclusive) not passed. A client with a rights request
still open is kept the same way without a hold row: that hold needs no one to remember it.

The reason is free text that may say something about the client, so it is sealed with the client's
data key (and resealed with the rest of the file when a correction renews that key); it is never in an
event, a log or an error. Nothing else of a hold is personal: ids, dates, who.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import insert, select, update

from audit import AuditAction, Outcome
from covenant import Action
from gateway.errors import Conflict, InvalidContent, NotFound
from gateway.retention.models import LegalHold
from gateway.transaction import Transaction
from gateway.vault import aad

MIN_REASON, MAX_REASON = 10, 1000


@dataclass(frozen=True, slots=True)
class HoldView:
    id: uuid.UUID
    client_id: uuid.UUID
    reason: str
    placed_by: uuid.UUID
    since: dt.datetime
    until_on: dt.date | None
    released_at: dt.datetime | None
    released_by: uuid.UUID | None
    in_force: bool


def hold_aad(client_id: uuid.UUID, hold_id: uuid.UUID) -> bytes:
    return aad("legal_hold", str(client_id), str(hold_id), "reason")


def in_force(row: LegalHold, today: dt.date, now: dt.datetime) -> bool:
    return row.released_at is None and row.since <= now and (row.until_on is None or row.until_on >= today)


def _view(tx: Transaction, row: LegalHold) -> HoldView:
    reason = tx.decrypt(row.client_id, row.key_version, hold_aad(row.client_id, row.id), row.reason,
                        what="legal_hold", object_id=row.id).decode()
    return HoldView(id=row.id, client_id=row.client_id, reason=reason, placed_by=row.placed_by, since=row.since,
                    until_on=row.until_on, released_at=row.released_at, released_by=row.released_by,
                    in_force=in_force(row, tx.today, tx.now))


def _authorize(tx: Transaction, client_id: uuid.UUID, *, purpose: str, audit_action: AuditAction,
               object_id: str | None, detail=None):
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.RETENTION_HOLD, facts.resource(), purpose=purpose, audit_action=audit_action,
                            client_pseudonym=facts.pseudonym, object_type="legal_hold", object_id=object_id,
                            detail=detail)
    if not decision.allowed:
        raise tx.refuse(decision)
    return facts


def place_hold(tx: Transaction, client_id: uuid.UUID, *, purpose: str, reason: str,
               until_on: dt.date | None = None) -> HoldView:
    """Place a hold on the client's file, from now until released (or through ``until_on``)."""
    if until_on is not None and until_on < tx.today:
        tx.record(AuditAction.RETENTION_HOLD, outcome=Outcome.DENY, reason="until_passed", purpose=purpose,
                  object_type="legal_hold")
        raise InvalidContent("a hold cannot end before today",
                             extra={"errors": [{"field": "until", "problem": "must not be before today"}]})
    hold_id = uuid.uuid4()
    _authorize(tx, client_id, purpose=purpose, audit_action=AuditAction.RETENTION_HOLD, object_id=str(hold_id),
               detail={"until": until_on.isoformat() if until_on else None})
    vault = tx.runtime.vault
    version = vault.latest_version(client_id)
    row = LegalHold(id=hold_id, client_id=client_id, key_version=version, placed_by=tx.actor.staff_id,
                    since=tx.now, until_on=until_on, released_at=None, released_by=None,
                    reason=vault.encrypt(client_id, version, hold_aad(client_id, hold_id), reason.encode()))
    values = {column.key: getattr(row, column.key) for column in LegalHold.__table__.columns}
    tx.write(lambda conn: conn.execute(insert(LegalHold).values(**values)))
    return HoldView(id=hold_id, client_id=client_id, reason=reason, placed_by=row.placed_by, since=row.since,
                    until_on=until_on, released_at=None, released_by=None, in_force=True)


def list_holds(tx: Transaction, client_id: uuid.UUID, *, purpose: str) -> list[HoldView]:
    """The client's holds, released ones included, oldest first."""
    facts = tx.client_facts(client_id)
    decision = tx.decide(Action.RETENTION_HOLD, facts.resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.RETENTION_HOLD_LIST, decision, purpose=purpose,
                           client_pseudonym=facts.pseudonym, object_type="legal_hold")
        raise tx.refuse(decision)
    rows = tx.session.scalars(select(LegalHold).where(LegalHold.client_id == client_id)
                              .order_by(LegalHold.since, LegalHold.id)).all()
    views = [_view(tx, row) for row in rows]
    tx.record_decision(AuditAction.RETENTION_HOLD_LIST, decision, purpose=purpose, client_pseudonym=facts.pseudonym,
                       object_type="legal_hold", detail={"returned": len(views)})
    return views


def release_hold(tx: Transaction, client_id: uuid.UUID, hold_id: uuid.UUID, *, purpose: str) -> HoldView:
    """Release a hold; 404 for a hold not on this client, 409 for one already released (the permitted
    attempt is then recorded as an error with that reason, as every refused step is)."""
    _authorize(tx, client_id, purpose=purpose, audit_action=AuditAction.RETENTION_HOLD_RELEASE,
               object_id=str(hold_id))
    row = tx.session.get(LegalHold, hold_id)
    if row is None or row.client_id != client_id:
        raise NotFound("no hold with this id on this client")
    if row.released_at is not None:
        raise Conflict("this hold has already been released")
    now, staff_id = tx.now, tx.actor.staff_id

    def release(conn) -> None:
        if not conn.execute(update(LegalHold).where(LegalHold.id == hold_id, LegalHold.released_at.is_(None))
                            .values(released_at=now, released_by=staff_id)).rowcount:
            raise Conflict("this hold has already been released")

    tx.write(release)
    return replace(_view(tx, row), released_at=now, released_by=staff_id, in_force=False)
