"""Registering clients (Instrument 2: the coordination point or the client manager registers)."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy import insert, select

from audit import AuditAction, Outcome
from covenant import Action, Resource, Role
from gateway.care import service as care_service
from gateway.clients.models import Client, ClientStatus
from gateway.errors import Conflict, InvalidContent
from gateway.transaction import Transaction

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


def register_client(tx: Transaction, *, purpose: str, bsn: str | None = None,
                    informed_at: dt.datetime | None = None, client_id: uuid.UUID | None = None) -> uuid.UUID:
    """Register a client; a registering client manager becomes the client's client manager and joins
    the care team at once (Instrument 2: one client manager per client).

    Art. 10: ``informed_at`` is when the client was told the purposes and the controller; a client
    registered without it is flagged on every entry recorded until it is set.
    """
    actor = tx.identify()
    if bsn is not None and not valid_bsn(bsn):
        tx.record(AuditAction.CLIENT_REGISTER, outcome=Outcome.DENY, reason="bsn_invalid", purpose=purpose)
        raise InvalidContent("the BSN is not valid", extra={"errors": [{"field": "bsn", "problem": "not a valid BSN"}]})
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
    return client_id
