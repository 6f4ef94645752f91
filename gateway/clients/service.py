"""Registering clients (Instrument 2: the coordination point or the client manager registers), and
reading the client register: one client's summary, and the clients a staff member may see."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import and_, insert, or_, select

from audit import AuditAction, Outcome
from covenant import Action, Resource, Role, keeps_client_register
from gateway.access import visible_clients
from gateway.care import service as care_service
from gateway.clients.models import Client, ClientStatus
from gateway.errors import BadRequest, Conflict, InvalidContent
from gateway.pagination import decode_cursor, encode_cursor
from gateway.transaction import Transaction

MAX_PAGE = 100

_PSEUDONYM_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_pseudonym() -> str:
    """A random pseudonym such as ``CL-7KQ2-9XF4``: it means nothing once the client's file is gone."""
    chars = "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))
    return f"CL-{chars[:4]}-{chars[4:]}"


def valid_bsn(bsn: str) -> bool:
    """A BSN is nine digits that pass the eleven test (elfproef)."""
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(digit) * weight for digit, weight in zip(bsn, weights)) % 11 == 0 and bsn != "000000000"


class Registered(NamedTuple):
    id: uuid.UUID
    pseudonym: str


def register_client(tx: Transaction, *, purpose: str, bsn: str | None = None,
                    informed_at: dt.datetime | None = None, client_id: uuid.UUID | None = None) -> Registered:
    """Register a client; a registering client manager becomes the client's client manager and joins
    the care team at once (Instrument 2: one client manager per client).

    Art. 10: ``informed_at`` is when the client was told the purposes and the controller; a client
    registered without it is flagged on every entry recorded until it is set. It cannot lie ahead.
    """
    actor = tx.identify()
    if bsn is not None and not valid_bsn(bsn):
        tx.record(AuditAction.CLIENT_REGISTER, outcome=Outcome.DENY, reason="bsn_invalid", purpose=purpose)
        raise InvalidContent("the BSN is not valid", extra={"errors": [{"field": "bsn", "problem": "not a valid BSN"}]})
    if informed_at is not None and (informed_at.tzinfo is None or informed_at > tx.now):
        tx.record(AuditAction.CLIENT_REGISTER, outcome=Outcome.DENY, reason="informed_at_invalid", purpose=purpose)
        raise InvalidContent("the client cannot have been informed later than now", extra={"errors": [
            {"field": "informed_at", "problem": "must be a moment with a time zone, not in the future"}]})
    client_id = client_id or uuid.uuid4()
    pseudonym = new_pseudonym()
    decision = tx.authorize(Action.CLIENT_REGISTER, Resource(), purpose=purpose,
                            audit_action=AuditAction.CLIENT_REGISTER, client_pseudonym=pseudonym,
                            object_type="client", object_id=str(client_id))
    if not decision.allowed:
        raise tx.refuse(decision)
    bsn_index = tx.runtime.blind_index.bsn(bsn) if bsn is not None else None
    if bsn_index is not None and tx.session.scalar(select(Client.id).where(Client.bsn_index == bsn_index)):
        raise Conflict("a client with this BSN is already registered")
    tx.runtime.vault.create_client_key(client_id, tx.now)
    values = {"id": client_id, "pseudonym": pseudonym, "bsn_index": bsn_index, "informed_at": informed_at,
              "last_contact_at": None, "status": ClientStatus.ACTIVE, "registered_by": actor.staff_id,
              "client_manager_id": actor.staff_id if Role.CLIENT_MANAGER in actor.subject.roles else None,
              "created_at": tx.now}
    tx.write(lambda conn: conn.execute(insert(Client).values(**values)))
    if Role.CLIENT_MANAGER in actor.subject.roles:
        link_id = care_service.queue_link(tx, client_id=client_id, staff_id=actor.staff_id,
                                          granted_by=actor.staff_id, reason="registered the client as client manager")
        tx.record(AuditAction.LINK_GRANT, outcome=Outcome.PERMIT, reason="permitted", purpose=purpose,
                  authority="client.register", client_pseudonym=pseudonym, object_type="care_link",
                  object_id=str(link_id), detail={"member": str(actor.staff_id)})
    return Registered(client_id, pseudonym)


@dataclass(frozen=True, slots=True)
class ClientView:
    """A client as the register shows it: ids, status and moments, no personal data beyond them."""

    id: uuid.UUID
    pseudonym: str
    status: str
    informed_at: dt.datetime | None
    client_manager_id: uuid.UUID | None
    registered_at: dt.datetime
    last_contact_at: dt.datetime | None
    linked_since: dt.datetime | None
    linked_until: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ClientPage:
    items: list[ClientView]
    next_cursor: str | None


def _view(row) -> ClientView:
    return ClientView(id=row.id, pseudonym=row.pseudonym, status=row.status, informed_at=row.informed_at,
                      client_manager_id=row.client_manager_id, registered_at=row.created_at,
                      last_contact_at=row.last_contact_at, linked_since=row.linked_since,
                      linked_until=row.linked_until)


def read_client(tx: Transaction, client_id: uuid.UUID, *, purpose: str) -> ClientView:
    """One client's summary, for staff with an active link to the client and for the field directors
    (Instrument 2e, 6); an unknown client is refused like one the caller is not linked to, except to
    the field directors (:mod:`gateway.refusals`)."""
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.CLIENT_READ, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.CLIENT_READ, client_pseudonym=facts.pseudonym,
                            object_type="client", object_id=str(client_id))
    if not decision.allowed:
        raise tx.refuse(decision)
    statement = visible_clients(staff_id=tx.actor.staff_id, now=tx.now, whole_register=True)
    return _view(tx.connection.execute(statement.where(Client.id == client_id)).one())


def list_clients(tx: Transaction, *, purpose: str, limit: int = 50, cursor: str | None = None) -> ClientPage:
    """The clients the staff member has an active care-team link to (the field directors: the whole
    register), oldest registration first, a page at a time.

    One event records the listing, naming the clients it showed by pseudonym (NEN 7513: which
    clients' data was seen), never by anything else.
    """
    decision = tx.decide(Action.CLIENT_LIST, Resource(), purpose=purpose)
    if not decision.allowed:
        tx.record_decision(AuditAction.CLIENT_LIST, decision, purpose=purpose)
        raise tx.refuse(decision)
    try:
        after = decode_cursor(cursor) if cursor else None
    except BadRequest:
        tx.record(AuditAction.REQUEST_REJECTED, outcome=Outcome.DENY, reason="cursor_invalid", purpose=purpose)
        raise
    limit = max(1, min(limit, MAX_PAGE))
    whole_register = keeps_client_register(tx.actor.subject)
    statement = visible_clients(staff_id=tx.actor.staff_id, now=tx.now, whole_register=whole_register)
    if after is not None:
        moment, last_id = after
        statement = statement.where(or_(Client.created_at > moment,
                                        and_(Client.created_at == moment, Client.id > last_id)))
    rows = tx.connection.execute(statement.order_by(Client.created_at, Client.id).limit(limit + 1)).all()
    items = [_view(row) for row in rows[:limit]]
    tx.record_decision(AuditAction.CLIENT_LIST, decision, purpose=purpose, object_type="client",
                       detail={"scope": "register" if whole_register else "own_links", "returned": len(items),
                               "clients": [item.pseudonym for item in items]})
    next_cursor = encode_cursor(items[-1].registered_at, items[-1].id) if len(rows) > limit else None
    return ClientPage(items=items, next_cursor=next_cursor)
