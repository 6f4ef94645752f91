"""The care team: who is linked to a client, since when, until when, and why.

Instrument 2: the client manager grants partners access to the client's file when asking them for
information; the field director (coordination point) may do so for any client.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import insert, or_, select, update

from audit import AuditAction
from covenant import Action
from gateway.care.models import CareLink
from gateway.errors import Conflict, InvalidContent, NotFound
from gateway.parties.models import Staff
from gateway.transaction import Transaction
from gateway.vault import aad

MAX_REASON = 500


def _reason_bytes(reason: str) -> bytes:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidContent("a reason is required", extra={"errors": [{"field": "reason", "problem": "required"}]})
    if len(reason) > MAX_REASON:
        raise InvalidContent("the reason is too long",
                             extra={"errors": [{"field": "reason", "problem": f"longer than {MAX_REASON} characters"}]})
    return reason.encode()


def _seal_reason(tx: Transaction, client_id: uuid.UUID, link_id: uuid.UUID, label: str, reason: str,
                 version: int | None = None) -> tuple[bytes, int]:
    vault = tx.runtime.vault
    version = version if version is not None else vault.latest_version(client_id)
    return vault.encrypt(client_id, version, aad("care_link", str(client_id), str(link_id), label),
                         _reason_bytes(reason)), version


def _open_link(client_id: uuid.UUID, staff_id: uuid.UUID, now: dt.datetime):
    return select(CareLink.id).where(CareLink.client_id == client_id, CareLink.staff_id == staff_id,
                                     or_(CareLink.until.is_(None), CareLink.until > now))


def queue_link(tx: Transaction, *, client_id: uuid.UUID, staff_id: uuid.UUID, granted_by: uuid.UUID | None,
               reason: str, link_id: uuid.UUID | None = None, until: dt.datetime | None = None) -> uuid.UUID:
    """Queue a new link on ``tx``; the caller has decided that it may be made, and records it.

    One open link per member and client: checked again where the link is written, inside the
    committing transaction, which the writer lock serialises (two grants at once make one link).
    """
    link_id = link_id or uuid.uuid4()
    sealed, version = _seal_reason(tx, client_id, link_id, "reason", reason)
    values = {"id": link_id, "client_id": client_id, "staff_id": staff_id, "since": tx.now,
              "until": until, "granted_by": granted_by, "reason": sealed, "ended_by": None, "end_reason": None,
              "key_version": version}
    now = tx.now

    def link(conn) -> None:
        if conn.execute(_open_link(client_id, staff_id, now)).first() is not None:
            raise Conflict("this staff member is already linked to the client")
        conn.execute(insert(CareLink).values(**values))

    tx.write(link)
    return link_id


def grant_link(tx: Transaction, *, client_id: uuid.UUID, staff_id: uuid.UUID, purpose: str,
               reason: str, until: dt.datetime | None = None) -> uuid.UUID:
    """Link ``staff_id`` to the client's care team from now (until ``until``, if given)."""
    _reason_bytes(reason)
    facts = tx.client_facts(client_id)
    link_id = uuid.uuid4()
    decision = tx.authorize(Action.LINK_GRANT, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.LINK_GRANT, client_pseudonym=facts.pseudonym,
                            object_type="care_link", object_id=str(link_id), detail={"member": str(staff_id)})
    if not decision.allowed:
        raise tx.refuse(decision)
    member = tx.session.get(Staff, staff_id)
    if member is None or not member.active or member.party_id not in tx.covenant.parties:
        raise NotFound("no active staff member of a covenant party with this id")
    if until is not None and until <= tx.now:
        raise InvalidContent("the link would end before it begins",
                             extra={"errors": [{"field": "until", "problem": "must be in the future"}]})
    if tx.connection.execute(_open_link(client_id, staff_id, tx.now)).first() is not None:
        raise Conflict("this staff member is already linked to the client")
    return queue_link(tx, client_id=client_id, staff_id=staff_id, granted_by=tx.actor.staff_id, reason=reason,
                      link_id=link_id, until=until)


def end_link(tx: Transaction, *, client_id: uuid.UUID, link_id: uuid.UUID, purpose: str, reason: str) -> None:
    """End a link now: from this moment the member is refused the client's file."""
    _reason_bytes(reason)
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.LINK_END, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.LINK_END, client_pseudonym=facts.pseudonym,
                            object_type="care_link", object_id=str(link_id))
    if not decision.allowed:
        raise tx.refuse(decision)
    link = tx.session.get(CareLink, link_id)
    if link is None or link.client_id != client_id:
        raise NotFound("no such link in this client's care team")
    if link.until is not None and link.until <= tx.now:
        raise Conflict("this link has already ended")
    sealed, _ = _seal_reason(tx, client_id, link_id, "end_reason", reason, version=link.key_version)
    now, ended_by = tx.now, tx.actor.staff_id

    def end(conn) -> None:
        ended = conn.execute(update(CareLink).where(
            CareLink.id == link_id, or_(CareLink.until.is_(None), CareLink.until > now)
        ).values(until=now, ended_by=ended_by, end_reason=sealed)).rowcount
        if ended != 1:
            raise Conflict("this link has already ended")

    tx.write(end)
