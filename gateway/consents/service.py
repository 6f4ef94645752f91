"""Consent records: the client's consent to an exchange the covenant makes depend on it
(``[consents.<code>]``, e.g. the municipality and the care office), given, recorded by the client's own
client manager, and withdrawn, effective at once. Each step is decided by :func:`covenant.decide`
(``consent.manage``) and recorded (``consent.record``, ``consent.list``, ``consent.withdraw``).

The reads it governs stay with the file: :func:`standing` gives the decision the client's consents in
force and withdrawn, as facts."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import insert, select, update

from audit import AuditAction, Outcome
from covenant import Action
from gateway.consents.models import Consent
from gateway.errors import Conflict, InvalidContent, NotFound
from gateway.transaction import Transaction


@dataclass(frozen=True, slots=True)
class ConsentView:
    id: uuid.UUID
    client_id: uuid.UUID
    scope: str
    given_at: dt.datetime
    recorded_by: uuid.UUID
    recorded_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: uuid.UUID | None
    in_force: bool


def _view(row: Consent, now: dt.datetime) -> ConsentView:
    return ConsentView(id=row.id, client_id=row.client_id, scope=row.scope, given_at=row.given_at,
                       recorded_by=row.recorded_by, recorded_at=row.recorded_at, withdrawn_at=row.withdrawn_at,
                       withdrawn_by=row.withdrawn_by, in_force=row.withdrawn_at is None and row.given_at <= now)


def standing(tx: Transaction, client_id: uuid.UUID) -> tuple[frozenset[str], frozenset[str]]:
    """The client's consents (exchange codes) in force now, and those withdrawn with none in force."""
    if not tx.covenant.consents:
        return frozenset(), frozenset()
    rows = tx.session.execute(select(Consent.scope, Consent.given_at, Consent.withdrawn_at)
                              .where(Consent.client_id == client_id)).all()
    in_force = frozenset(row.scope for row in rows if row.withdrawn_at is None and row.given_at <= tx.now)
    withdrawn = frozenset(row.scope for row in rows if row.withdrawn_at is not None) - in_force
    return in_force, withdrawn


def _authorize(tx: Transaction, client_id: uuid.UUID, *, purpose: str, audit_action: AuditAction,
               object_id: str | None = None, detail=None):
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.CONSENT_MANAGE, facts.resource(), purpose=purpose, audit_action=audit_action,
                            client_pseudonym=facts.pseudonym, object_type="consent", object_id=object_id,
                            detail=detail)
    if not decision.allowed:
        raise tx.refuse(decision)
    return facts


def record_consent(tx: Transaction, client_id: uuid.UUID, *, purpose: str, scope: str,
                   given_at: dt.datetime | None = None) -> ConsentView:
    """Record the client's consent to the exchange ``scope`` (given now, or at ``given_at``, not in the
    future); 422 for an exchange the covenant does not make depend on consent, 409 while one is in force."""
    moment = given_at or tx.now
    problem = None
    if scope not in tx.covenant.consents:
        problem = ("scope", f"must be one of the covenant's consents: {', '.join(sorted(tx.covenant.consents))}",
                   "scope_unknown")
    elif moment.tzinfo is None or moment > tx.now:
        problem = ("given_at", "must be a moment with a time zone, not in the future", "given_at_invalid")
    if problem is not None:
        tx.record(AuditAction.CONSENT_RECORD, outcome=Outcome.DENY, reason=problem[2], purpose=purpose,
                  object_type="consent", object_id=str(client_id))
        raise InvalidContent("the consent does not fit the covenant", extra={"errors": [
            {"field": problem[0], "problem": problem[1]}]})
    consent_id = uuid.uuid4()
    _authorize(tx, client_id, purpose=purpose, audit_action=AuditAction.CONSENT_RECORD, object_id=str(consent_id),
               detail={"scope": scope})
    if tx.session.scalar(select(Consent.id).where(Consent.client_id == client_id, Consent.scope == scope,
                                                  Consent.withdrawn_at.is_(None)).limit(1)) is not None:
        raise Conflict("the client's consent to this exchange is recorded already")
    row = Consent(id=consent_id, client_id=client_id, scope=scope, given_at=moment, recorded_by=tx.actor.staff_id,
                  recorded_at=tx.now, withdrawn_at=None, withdrawn_by=None)
    values = {column.key: getattr(row, column.key) for column in Consent.__table__.columns}
    tx.write(lambda conn: conn.execute(insert(Consent).values(**values)))
    return _view(row, tx.now)


def list_consents(tx: Transaction, client_id: uuid.UUID, *, purpose: str) -> list[ConsentView]:
    """The client's consents, withdrawn ones included, oldest first."""
    _authorize(tx, client_id, purpose=purpose, audit_action=AuditAction.CONSENT_LIST)
    rows = tx.session.scalars(select(Consent).where(Consent.client_id == client_id)
                              .order_by(Consent.given_at, Consent.id)).all()
    return [_view(row, tx.now) for row in rows]


def withdraw_consent(tx: Transaction, client_id: uuid.UUID, consent_id: uuid.UUID, *, purpose: str) -> ConsentView:
    """The client withdraws the consent: from this moment the exchange is refused. 404 for a consent not on
    this client, 409 for one already withdrawn."""
    _authorize(tx, client_id, purpose=purpose, audit_action=AuditAction.CONSENT_WITHDRAW, object_id=str(consent_id))
    row = tx.session.get(Consent, consent_id)
    if row is None or row.client_id != client_id:
        raise NotFound("no consent with this id on this client")
    if row.withdrawn_at is not None:
        raise Conflict("this consent has already been withdrawn")
    now, staff_id = tx.now, tx.actor.staff_id

    def apply(conn) -> None:
        if not conn.execute(update(Consent).where(Consent.id == consent_id, Consent.withdrawn_at.is_(None))
                            .values(withdrawn_at=now, withdrawn_by=staff_id)).rowcount:
            raise Conflict("this consent has already been withdrawn")

    tx.write(apply)
    return replace(_view(row, now), withdrawn_at=now, withdrawn_by=staff_id, in_force=False)
