"""Parties (mirrored from the covenant in force) and their staff."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Connection, Uuid, bindparam, insert, select, update
from sqlalchemy.orm import Session

from covenant import STAFF_ROLES, Covenant, Role, Subject
from gateway.parties.models import Party, Staff


def sync_parties(conn: Connection, covenant: Covenant) -> dict[str, int]:
    """Mirror the covenant's parties into the ``party`` table (their staff refer to them).

    A party that left the covenant keeps its row, so the history of who wrote what stays whole; the
    decision no longer knows its kind, so its staff are refused everything.
    """
    added = updated = 0
    existing = {row.id: row for row in conn.execute(select(Party.id, Party.name, Party.kind))}
    for party in covenant.parties.values():
        row = existing.get(party.code)
        if row is None:
            conn.execute(insert(Party).values(id=party.code, name=party.name, kind=party.kind))
            added += 1
        elif (row.name, row.kind) != (party.name, party.kind):
            conn.execute(update(Party).where(Party.id == party.code).values(name=party.name, kind=party.kind))
            updated += 1
    return {"added": added, "updated": updated}


def subject_for(staff: Staff, scopes: frozenset[str] | None) -> Subject:
    return _subject(staff.id, staff.party_id, staff.roles, staff.active, scopes)


def _subject(staff_id: uuid.UUID, party: str, roles: list[str], active: bool,
             scopes: frozenset[str] | None) -> Subject:
    return Subject(id=str(staff_id), party=party, roles=frozenset(Role(role) for role in roles if role in STAFF_ROLES),
                   active=active, scopes=scopes)


_staff = Staff.__table__
_SUBJECT = select(_staff.c.party_id, _staff.c.roles, _staff.c.active).where(
    _staff.c.id == bindparam("staff_id", type_=Uuid()))


def subject_by_id(session: Session, staff_id: uuid.UUID, scopes: frozenset[str] | None) -> Subject | None:
    """The staff member as the covenant sees them, read afresh (an account switched off is off at once)."""
    row = session.connection().execute(_SUBJECT, {"staff_id": staff_id}).first()
    return _subject(staff_id, row.party_id, row.roles, row.active, scopes) if row is not None else None


def get_staff(session: Session, staff_id: uuid.UUID) -> Staff | None:
    return session.get(Staff, staff_id)


def get_staff_by_handle(session: Session, handle: str) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.handle == handle))


def staff_row(*, staff_id: uuid.UUID, party: str, handle: str, roles: list[Role], now: dt.datetime) -> dict:
    """The values of a new staff member, checked against the staff roles."""
    unknown = [role for role in roles if role not in STAFF_ROLES]
    if unknown:
        raise ValueError(f"not staff roles: {', '.join(map(str, unknown))}")
    return {"id": staff_id, "party_id": party, "handle": handle, "roles": sorted(str(role) for role in roles),
            "active": True, "created_at": now}
