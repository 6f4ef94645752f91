"""What partner systems report: a client's contacts, and deletions at the source.

Both are reported by the party's system for the party (``client_credentials``, scope
``events:write``), never by a staff member, and change only what concerns that party.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import case, delete, or_, select, update

from audit import AuditAction
from covenant import Action
from gateway.clients.models import Client
from gateway.errors import InvalidContent
from gateway.records.models import Entry
from gateway.transaction import Transaction


def _authorize(tx: Transaction, client_id: uuid.UUID, *, purpose: str, audit_action: AuditAction,
               event_id: uuid.UUID, **event):
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.EVENT_RECORD, facts.resource(), purpose=purpose, audit_action=audit_action,
                            client_pseudonym=facts.pseudonym, object_type="client_event", object_id=str(event_id),
                            **event)
    if not decision.allowed:
        raise tx.refuse(decision)
    return facts


def record_contact(tx: Transaction, client_id: uuid.UUID, *, purpose: str, on: dt.date) -> uuid.UUID:
    """Art. 9.3: move the client's last contact forward to ``on`` (never back)."""
    if on > tx.today:
        raise InvalidContent("a contact cannot be reported before it happened",
                             extra={"errors": [{"field": "date", "problem": "must not be in the future"}]})
    event_id = uuid.uuid4()
    _authorize(tx, client_id, purpose=purpose, audit_action=AuditAction.EVENT_CONTACT, event_id=event_id,
               detail={"date": on.isoformat()})
    contact_at = tx.start_of(on)
    tx.write(lambda conn: conn.execute(update(Client).where(Client.id == client_id).values(
        last_contact_at=case((or_(Client.last_contact_at.is_(None), Client.last_contact_at < contact_at),
                              contact_at), else_=Client.last_contact_at))))
    return event_id


def record_source_deletion(tx: Transaction, client_id: uuid.UUID, *, purpose: str,
                           source_reference: str) -> tuple[uuid.UUID, int]:
    """The party deleted an item in its own system: the entries it gave the gateway under that
    reference are destroyed (the covenant's retention: data goes when its source deletes it)."""
    event_id = uuid.uuid4()
    facts = tx.client_facts(client_id)
    decision = tx.decide(Action.EVENT_RECORD, facts.resource(), purpose=purpose)
    destroyed: list[uuid.UUID] = []
    if decision.allowed:
        party = tx.actor.subject.party
        index = tx.runtime.blind_index.source_reference(party, source_reference)
        matching = (Entry.client_id == client_id, Entry.source_party_id == party,
                    Entry.source_reference_index == index)
        destroyed = list(tx.connection.execute(select(Entry.id).where(*matching)).scalars())
        tx.write(lambda conn: conn.execute(delete(Entry).where(*matching)))
    tx.record_decision(AuditAction.EVENT_SOURCE_DELETED, decision, purpose=purpose, client_pseudonym=facts.pseudonym,
                       object_type="client_event", object_id=str(event_id),
                       detail={"entries_destroyed": [str(entry) for entry in destroyed]} if decision.allowed else None)
    if not decision.allowed:
        raise tx.refuse(decision)
    return event_id, len(destroyed)
