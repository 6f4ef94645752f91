"""Art. 5: disclosing criminal data outside the criminal-justice chain, one entry to one party, only
on a public prosecutor's approval; revocable at once. Every approval, list and revocation is decided
by :func:`covenant.decide` (``disclosure.manage``) and recorded (``disclosure.approve``,
``disclosure.list``, ``disclosure.revoke``), refusals too.

The reads themselves stay with the file (:mod:`gateway.records.service`): it looks up the approval in
force for the entry and the reader's party (:func:`in_force`, :func:`disclosed_entries`) and passes it
to the decision as a fact."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import Select, insert, select, update

from audit import AuditAction
from covenant import Action
from gateway.disclosures.models import CriminalDisclosure
from gateway.errors import Conflict, NotFound
from gateway.transaction import Transaction


@dataclass(frozen=True, slots=True)
class DisclosureView:
    id: uuid.UUID
    client_id: uuid.UUID
    entry_id: uuid.UUID
    recipient_party: str
    approved_by: uuid.UUID
    approved_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: uuid.UUID | None
    in_force: bool


def _view(row: CriminalDisclosure) -> DisclosureView:
    return DisclosureView(id=row.id, client_id=row.client_id, entry_id=row.entry_id,
                          recipient_party=row.recipient_party_id, approved_by=row.approved_by,
                          approved_at=row.approved_at, revoked_at=row.revoked_at, revoked_by=row.revoked_by,
                          in_force=row.revoked_at is None)


def in_force(tx: Transaction, entry_id: uuid.UUID, party: str | None) -> str | None:
    """The id of the approval in force disclosing ``entry_id`` to ``party``, if any."""
    if party is None:
        return None
    found = tx.session.scalar(select(CriminalDisclosure.id).where(
        CriminalDisclosure.entry_id == entry_id, CriminalDisclosure.recipient_party_id == party,
        CriminalDisclosure.revoked_at.is_(None), CriminalDisclosure.approved_at <= tx.now).limit(1))
    return str(found) if found is not None else None


def disclosed_entries(client_id: uuid.UUID, party: str, now: dt.datetime) -> Select:
    """The ids of the client's entries disclosed to ``party`` now (for the list of the file)."""
    return select(CriminalDisclosure.entry_id).where(
        CriminalDisclosure.client_id == client_id, CriminalDisclosure.recipient_party_id == party,
        CriminalDisclosure.revoked_at.is_(None), CriminalDisclosure.approved_at <= now)


def _authorize(tx: Transaction, client_id: uuid.UUID, entry_id: uuid.UUID, *, purpose: str,
               audit_action: AuditAction, recipient: str | None = None, object_id: str | None = None):
    facts = tx.client_facts(client_id, entry_id=entry_id)
    category = facts.entry.category if facts.entry is not None else None
    resource = facts.resource(category, entry_expected=True)._replace(recipient=recipient)
    decision = tx.authorize(Action.DISCLOSURE_MANAGE, resource, purpose=purpose, audit_action=audit_action,
                            client_pseudonym=facts.pseudonym, object_type="disclosure",
                            object_id=object_id, categories=category,
                            detail={"entry_id": str(entry_id), **({"recipient_party": recipient} if recipient else {})})
    if not decision.allowed:
        raise tx.refuse(decision)
    return facts


def approve(tx: Transaction, client_id: uuid.UUID, entry_id: uuid.UUID, *, purpose: str,
            recipient_party: str) -> DisclosureView:
    """A prosecutor approves disclosing the criminal entry to ``recipient_party``; 409 while an approval
    for the same entry and party is in force."""
    disclosure_id = uuid.uuid4()
    _authorize(tx, client_id, entry_id, purpose=purpose, audit_action=AuditAction.DISCLOSURE_APPROVE,
               recipient=recipient_party, object_id=str(disclosure_id))
    if in_force(tx, entry_id, recipient_party) is not None:
        raise Conflict("this entry is already disclosed to this party")
    row = CriminalDisclosure(id=disclosure_id, client_id=client_id, entry_id=entry_id,
                             recipient_party_id=recipient_party, approved_by=tx.actor.staff_id,
                             approved_at=tx.now, revoked_at=None, revoked_by=None)
    values = {column.key: getattr(row, column.key) for column in CriminalDisclosure.__table__.columns}
    tx.write(lambda conn: conn.execute(insert(CriminalDisclosure).values(**values)))
    return _view(row)


def list_disclosures(tx: Transaction, client_id: uuid.UUID, entry_id: uuid.UUID, *,
                     purpose: str) -> list[DisclosureView]:
    """The entry's approvals, revoked ones included, oldest first."""
    _authorize(tx, client_id, entry_id, purpose=purpose, audit_action=AuditAction.DISCLOSURE_LIST)
    rows = tx.session.scalars(select(CriminalDisclosure).where(
        CriminalDisclosure.client_id == client_id, CriminalDisclosure.entry_id == entry_id)
        .order_by(CriminalDisclosure.approved_at, CriminalDisclosure.id)).all()
    return [_view(row) for row in rows]


def revoke(tx: Transaction, client_id: uuid.UUID, entry_id: uuid.UUID, disclosure_id: uuid.UUID, *,
           purpose: str) -> DisclosureView:
    """Revoke an approval: from this moment the party's staff no longer see the entry. 404 for an
    approval not on this entry, 409 for one already revoked."""
    _authorize(tx, client_id, entry_id, purpose=purpose, audit_action=AuditAction.DISCLOSURE_REVOKE,
               object_id=str(disclosure_id))
    row = tx.session.get(CriminalDisclosure, disclosure_id)
    if row is None or row.client_id != client_id or row.entry_id != entry_id:
        raise NotFound("no disclosure with this id on this entry")
    if row.revoked_at is not None:
        raise Conflict("this disclosure has already been revoked")
    now, staff_id = tx.now, tx.actor.staff_id

    def apply(conn) -> None:
        if not conn.execute(update(CriminalDisclosure).where(CriminalDisclosure.id == disclosure_id,
                                                             CriminalDisclosure.revoked_at.is_(None))
                            .values(revoked_at=now, revoked_by=staff_id)).rowcount:
            raise Conflict("this disclosure has already been revoked")

    tx.write(apply)
    return replace(_view(row), revoked_at=now, revoked_by=staff_id, in_force=False)
