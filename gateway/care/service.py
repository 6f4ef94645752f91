"""The care team: who is linked to a client, since when, until when, and why.

Instrument 2: the client manager grants partners access to the client's file when asking them for
information; the field director (coordination point) may do so for any client. Instrument 2e: the
officials involved with the client see who else is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import insert, or_, select, update

from audit import AuditAction, Outcome
from covenant import Action, Role
from gateway.care.models import CareLink
from gateway.errors import Conflict, InvalidContent, NotFound
from gateway.parties.models import Staff
from gateway.transaction import Transaction
from gateway.vault import aad

log = structlog.get_logger(__name__)

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class LinkView:
    """A care-team link as the team shows it, its reasons decrypted."""

    id: uuid.UUID
    client_id: uuid.UUID
    staff_id: uuid.UUID
    party: str
    since: dt.datetime
    until: dt.datetime | None
    active: bool
    granted_by: uuid.UUID | None
    reason: str | None
    ended_by: uuid.UUID | None
    end_reason: str | None


def _reason_bytes(reason: str) -> bytes:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidContent("a reason is required", extra={"errors": [{"field": "reason", "problem": "required"}]})
    if len(reason) > MAX_REASON:
        raise InvalidContent("the reason is too long",
                             extra={"errors": [{"field": "reason", "problem": f"longer than {MAX_REASON} characters"}]})
    return reason.encode()


def _check_reason(tx: Transaction, audit_action: AuditAction, reason: str, *, purpose: str, **event) -> None:
    """Refuse a missing or overlong reason before anything is decided, and record the attempt; the
    answer names the field, never the text (it may say something about the client)."""
    try:
        _reason_bytes(reason)
    except InvalidContent:
        tx.record(audit_action, outcome=Outcome.DENY, reason="reason_invalid", purpose=purpose, **event)
        raise


def _link_aad(client_id: uuid.UUID, link_id: uuid.UUID, label: str) -> bytes:
    return aad("care_link", str(client_id), str(link_id), label)


def _seal_reason(tx: Transaction, client_id: uuid.UUID, link_id: uuid.UUID, label: str, reason: str,
                 version: int | None = None) -> tuple[bytes, int]:
    vault = tx.runtime.vault
    version = version if version is not None else vault.latest_version(client_id)
    return vault.encrypt(client_id, version, _link_aad(client_id, link_id, label), _reason_bytes(reason)), version


def _open_reason(tx: Transaction, link: CareLink, label: str, sealed: bytes) -> str:
    return tx.decrypt(link.client_id, link.key_version, _link_aad(link.client_id, link.id, label), sealed,
                      what="care_link", object_id=link.id).decode()


def _active(link: CareLink, now: dt.datetime) -> bool:
    """Instrument 2e: a link counts from ``since`` up to, not including, ``until``."""
    return link.since <= now and (link.until is None or now < link.until)


def _manages_team(tx: Transaction, facts) -> bool:
    """Whether the reader manages the team: the client's own client manager, or a field director.

    Reasons are free text without a data category: "GGZ does the psychiatric assessment" is health
    data that a housing corporation may not read (art. 8.1b). So the team shows every member who is
    on it, but the reasons only to those who grant and end its links (Instrument 2).
    """
    subject = tx.actor.subject
    return Role.FIELD_DIRECTOR in subject.roles or (facts.client is not None and subject.id == facts.client.manager)


def _view(tx: Transaction, link: CareLink, party: str, *, with_reasons: bool) -> LinkView:
    return LinkView(id=link.id, client_id=link.client_id, staff_id=link.staff_id, party=party, since=link.since,
                    until=link.until, active=_active(link, tx.now), granted_by=link.granted_by,
                    reason=_open_reason(tx, link, "reason", link.reason) if with_reasons else None,
                    ended_by=link.ended_by,
                    end_reason=(_open_reason(tx, link, "end_reason", link.end_reason)
                                if with_reasons and link.end_reason else None))


def _team(client_id: uuid.UUID):
    return (select(CareLink, Staff.party_id).join(Staff, Staff.id == CareLink.staff_id)
            .where(CareLink.client_id == client_id))


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
    _check_reason(tx, AuditAction.LINK_GRANT, reason, purpose=purpose, object_type="client", object_id=str(client_id),
                  detail={"member": str(staff_id)})
    facts = tx.client_facts(client_id)
    link_id = uuid.uuid4()
    decision = tx.authorize(Action.LINK_GRANT, facts.resource(), purpose=purpose,
                            audit_action=AuditAction.LINK_GRANT, client_pseudonym=facts.pseudonym,
                            object_type="care_link", object_id=str(link_id), detail={"member": str(staff_id)})
    if not decision.allowed:
        raise tx.refuse(decision)
    member = tx.session.get(Staff, staff_id)
    if member is None or not member.active or member.party_id not in tx.covenant.parties:
        # The client is known to the caller; what is wrong is the body, so 422 rather than 404.
        raise InvalidContent("no active staff member of a covenant party with this id", extra={"errors": [
            {"field": "staff_id", "problem": "names no active staff member of a covenant party"}]})
    if until is not None and until <= tx.now:
        raise InvalidContent("the link would end before it begins",
                             extra={"errors": [{"field": "until", "problem": "must be in the future"}]})
    if tx.connection.execute(_open_link(client_id, staff_id, tx.now)).first() is not None:
        raise Conflict("this staff member is already linked to the client")
    return queue_link(tx, client_id=client_id, staff_id=staff_id, granted_by=tx.actor.staff_id, reason=reason,
                      link_id=link_id, until=until)


def end_link(tx: Transaction, *, client_id: uuid.UUID, link_id: uuid.UUID, purpose: str,
             reason: str) -> LinkView:
    """End a link now: from this moment the member is refused the client's file. Returns the link as
    it is once ended."""
    _check_reason(tx, AuditAction.LINK_END, reason, purpose=purpose, object_type="care_link", object_id=str(link_id))
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
    party = tx.session.scalar(select(Staff.party_id).where(Staff.id == link.staff_id))
    return LinkView(id=link.id, client_id=client_id, staff_id=link.staff_id, party=party, since=link.since,
                    until=now, active=False, granted_by=link.granted_by,
                    reason=_open_reason(tx, link, "reason", link.reason), ended_by=ended_by, end_reason=reason)


def list_team(tx: Transaction, client_id: uuid.UUID, *, purpose: str) -> list[LinkView]:
    """Every link of the client's care team, past and present, in the order they began, for staff with
    an active link to the client and for the field directors (Instrument 2e, 6)."""
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.TEAM_READ, facts.resource(), purpose=purpose, audit_action=AuditAction.TEAM_READ,
                            client_pseudonym=facts.pseudonym, object_type="client", object_id=str(client_id))
    if not decision.allowed:
        raise tx.refuse(decision)
    rows = tx.session.execute(_team(client_id).order_by(CareLink.since, CareLink.id)).all()
    with_reasons = _manages_team(tx, facts)
    return [_view(tx, link, party, with_reasons=with_reasons) for link, party in rows]


def read_link(tx: Transaction, client_id: uuid.UUID, link_id: uuid.UUID, *, purpose: str) -> LinkView:
    """One link of the client's care team, for those who may read the team."""
    facts = tx.client_facts(client_id)
    decision = tx.authorize(Action.TEAM_READ, facts.resource(), purpose=purpose, audit_action=AuditAction.TEAM_READ,
                            client_pseudonym=facts.pseudonym, object_type="care_link", object_id=str(link_id))
    if not decision.allowed:
        raise tx.refuse(decision)
    row = tx.session.execute(_team(client_id).where(CareLink.id == link_id)).first()
    if row is None:
        raise NotFound("no such link in this client's care team")
    return _view(tx, *row, with_reasons=_manages_team(tx, facts))
