"""A client's file: writing and reading its entries, each through the decision and into the trail."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Mapping

from sqlalchemy import and_, case, insert, or_, select, update

from audit import AuditAction, Outcome
from covenant import Action, check_content
from covenant.model import CRIMINAL
from gateway.clients.models import Client
from gateway.consents import service as consents
from gateway.disclosures import service as disclosures
from gateway.informing import service as informing
from gateway.errors import InvalidContent
from gateway.pagination import decode_cursor, encode_cursor
from gateway.records.models import Entry
from gateway.transaction import Transaction
from gateway.vault import aad

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class EntryView:
    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    category: str
    source_party: str
    source_reference: str | None
    confidentiality_ground: str | None
    purpose: str
    content: dict[str, Any]
    created_at: dt.datetime
    created_by: uuid.UUID


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: list[EntryView]
    next_cursor: str | None


def _entry_aad(entry) -> bytes:
    """What the ciphertext is bound to: whose entry, which, of what kind and category, from which
    party, kept from the client's copy on which ground, recorded for which purpose. Changing any of
    these in the database makes the entry undecryptable rather than misfiled."""
    return aad("entry", str(entry.client_id), str(entry.id), entry.kind, entry.category, entry.source_party_id,
               entry.confidentiality_ground or "", entry.purpose)


def _invalid(tx: Transaction, purpose: str, client_id: uuid.UUID, problems: list[dict]) -> InvalidContent:
    """Refuse a write that does not fit the covenant's data set (art. 6), and record the attempt."""
    tx.record(AuditAction.RECORD_WRITE, outcome=Outcome.DENY, reason="content_invalid", purpose=purpose,
              object_type="client", object_id=str(client_id))
    return InvalidContent("the entry does not fit the covenant's data set (art. 6)", extra={"errors": problems})


def write_entry(tx: Transaction, client_id: uuid.UUID, *, purpose: str, kind: str, category: str,
                content: Mapping[str, Any], source_reference: str | None = None,
                confidentiality_ground: str | None = None) -> uuid.UUID:
    """Add an entry to the client's file, encrypted with the client's key."""
    covenant = tx.covenant
    problems = []
    entry_kind = covenant.entry_kinds.get(kind)
    if entry_kind is None:
        problems.append({"field": "kind", "problem": f"must be one of: {', '.join(sorted(covenant.entry_kinds))}"})
    if category not in covenant.categories:
        problems.append({"field": "category", "problem": f"must be one of: {', '.join(sorted(covenant.categories))}"})
    if confidentiality_ground is not None and confidentiality_ground not in covenant.confidentiality_grounds:
        problems.append({"field": "confidentiality_ground", "problem": "must be a ground of art. 12 in the covenant"})
    if entry_kind is not None:
        problems += [{"field": f"content.{p.field}", "problem": p.problem}
                     for p in check_content(covenant, entry_kind, content)]
        contact_field = entry_kind.last_contact_field
        if contact_field and not problems and dt.date.fromisoformat(content[contact_field]) > tx.today:
            problems.append({"field": f"content.{contact_field}", "problem": "must not be in the future"})
    if problems:
        raise _invalid(tx, purpose, client_id, problems)

    facts = tx.client_facts(client_id)
    entry_id = uuid.uuid4()
    decision = tx.authorize(Action.RECORD_WRITE, facts.resource(category)._replace(entry_kind=kind), purpose=purpose,
                            audit_action=AuditAction.RECORD_WRITE, client_pseudonym=facts.pseudonym,
                            object_type="entry", object_id=str(entry_id), categories=category,
                            detail=None if facts.informed or facts.client is None else {"client_informed": False})
    if not decision.allowed:
        raise tx.refuse(decision)

    vault = tx.runtime.vault
    version = vault.latest_version(client_id)
    payload = json.dumps({"content": dict(content), "source_reference": source_reference},
                         separators=(",", ":"), ensure_ascii=False).encode()
    source_party = tx.actor.subject.party
    values = {
        "id": entry_id, "client_id": client_id, "kind": kind, "category": category,
        "source_party_id": source_party,
        "source_reference_index": (tx.runtime.blind_index.source_reference(source_party, source_reference)
                                   if source_reference else None),
        "confidentiality_ground": confidentiality_ground, "purpose": purpose,
        "key_version": version, "created_by": tx.actor.staff_id, "created_at": tx.now,
    }
    values["ciphertext"] = vault.encrypt(client_id, version, _entry_aad(SimpleNamespace(**values)), payload)
    tx.write(lambda conn: conn.execute(insert(Entry).values(**values)))
    if not facts.informed:  # art. 10: partner data before the client was informed raises a task
        informing.raise_task(tx, client_id, facts, source_party=source_party, entry_id=entry_id)
    contact_field = covenant.entry_kinds[kind].last_contact_field
    if contact_field:  # art. 9.3: the five-year term runs from the client's last contact with any party
        contact_at = tx.start_of(dt.date.fromisoformat(content[contact_field]))
        tx.write(lambda conn: conn.execute(update(Client).where(Client.id == client_id).values(
            last_contact_at=case((or_(Client.last_contact_at.is_(None), Client.last_contact_at < contact_at),
                                  contact_at), else_=Client.last_contact_at))))
    return entry_id


def _view(tx: Transaction, entry: Entry) -> EntryView:
    plaintext = tx.decrypt(entry.client_id, entry.key_version, _entry_aad(entry), entry.ciphertext,
                           what="entry", object_id=entry.id)
    payload = json.loads(plaintext)
    return EntryView(id=entry.id, client_id=entry.client_id, kind=entry.kind, category=entry.category,
                     source_party=entry.source_party_id, source_reference=payload["source_reference"],
                     confidentiality_ground=entry.confidentiality_ground, purpose=entry.purpose,
                     content=payload["content"], created_at=entry.created_at, created_by=entry.created_by)


def read_entry(tx: Transaction, client_id: uuid.UUID, entry_id: uuid.UUID, *, purpose: str) -> EntryView:
    """One entry of a client's file, for a staff member linked to the client whose party may read its category."""
    facts = tx.client_facts(client_id, entry_id=entry_id)
    category = facts.entry.category if facts.entry is not None else None
    resource = facts.resource(category, entry_expected=True)
    if category == CRIMINAL:  # art. 5: a prosecutor's approval in force for this entry and the reader's party
        resource = resource._replace(disclosure=disclosures.in_force(tx, entry_id, tx.actor.subject.party))
    if facts.entry is not None and tx.covenant.consent_rules(tx.actor.subject.party, facts.entry.source_party_id,
                                                             category):  # an exchange that depends on consent
        in_force, withdrawn = consents.standing(tx, client_id)
        resource = resource._replace(source_party=facts.entry.source_party_id, consents=in_force,
                                     withdrawn_consents=withdrawn)
    decision = tx.authorize(Action.RECORD_READ, resource,
                            purpose=purpose, audit_action=AuditAction.RECORD_READ,
                            client_pseudonym=facts.pseudonym, object_type="entry", object_id=str(entry_id),
                            categories=category)
    if not decision.allowed:
        raise tx.refuse(decision)
    return _view(tx, facts.entry)


def list_entries(tx: Transaction, client_id: uuid.UUID, *, purpose: str, limit: int = 50,
                 cursor: str | None = None, kind: str | None = None) -> EntryPage:
    """The entries of a client's file the staff member may read, oldest first, a page at a time.

    Only the categories the staff member's party may read are listed, so nobody learns from the list
    that entries of other categories exist.
    """
    after = decode_cursor(cursor) if cursor else None
    limit = max(1, min(limit, MAX_PAGE))
    facts = tx.client_facts(client_id)
    decisions = {category: tx.decide(Action.RECORD_READ, facts.resource(category), purpose=purpose)
                 for category in tx.covenant.categories}
    readable = sorted(category for category, decision in decisions.items() if decision.allowed)
    decision = decisions[readable[0]] if readable else next(iter(decisions.values()))
    tx.record_decision(AuditAction.RECORD_LIST, decision, purpose=purpose, client_pseudonym=facts.pseudonym,
                       object_type="client", object_id=str(client_id), categories=",".join(readable) or None)
    if not decision.allowed:
        raise tx.refuse(decision)

    listed = Entry.category.in_(readable)
    party = tx.actor.subject.party
    if CRIMINAL not in readable and party is not None and tx.decide(
            Action.RECORD_READ, facts.resource(CRIMINAL)._replace(disclosure="any"), purpose=purpose).allowed:
        # Art. 5: criminal entries a prosecutor disclosed to the reader's party, while the approval is in force.
        listed = or_(listed, and_(Entry.category == CRIMINAL,
                                  Entry.id.in_(disclosures.disclosed_entries(client_id, party, tx.now))))
    statement = select(Entry).where(Entry.client_id == client_id, listed)
    crossing = [(category, source) for category in readable for source in tx.covenant.parties
                if tx.covenant.consent_rules(party, source, category)]
    if crossing:
        # An exchange that depends on consent: leave out the other side's entries while it is not in force.
        in_force, withdrawn = consents.standing(tx, client_id)
        for category, source in crossing:
            if not tx.decide(Action.RECORD_READ, facts.resource(category)._replace(
                    source_party=source, consents=in_force, withdrawn_consents=withdrawn),
                    purpose=purpose).allowed:
                statement = statement.where(~and_(Entry.category == category, Entry.source_party_id == source))
    # Art. 13: a shielded entry is listed only to whom covenant.decide shows it (the client manager).
    if not tx.decide(Action.RECORD_READ, facts.resource(readable[0])._replace(shielded=True),
                     purpose=purpose).allowed:
        statement = statement.where(Entry.shielded_at.is_(None))
    if kind is not None:
        statement = statement.where(Entry.kind == kind)
    if after is not None:
        moment, last_id = after
        statement = statement.where(or_(Entry.created_at > moment,
                                        and_(Entry.created_at == moment, Entry.id > last_id)))
    rows = tx.session.scalars(statement.order_by(Entry.created_at, Entry.id).limit(limit + 1)).all()
    items = [_view(tx, entry) for entry in rows[:limit]]
    return EntryPage(items=items, next_cursor=encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None)
