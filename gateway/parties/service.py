"""Parties (mirrored from the covenant in force) and their staff."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Connection, insert, select, update

from covenant import STAFF_ROLES, Covenant, Role
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


def staff_row(*, staff_id: uuid.UUID, party: str, handle: str, roles: list[Role], now: dt.datetime) -> dict:
    """The values of a new staff member, checked against the staff roles."""
    unknown = [role for role in roles if role not in STAFF_ROLES]
    if unknown:
        raise ValueError(f"not staff roles: {', '.join(map(str, unknown))}")
    return {"id": staff_id, "party_id": party, "handle": handle, "roles": sorted(str(role) for role in roles),
            "active": True, "created_at": now}


def find_staff(tx, reference: str) -> Staff | None:
    """A staff member by id or by handle (an operator types either)."""
    if not 0 < len(reference) <= 100:
        return None
    try:
        return tx.session.get(Staff, uuid.UUID(reference))
    except ValueError:
        return tx.session.scalar(select(Staff).where(Staff.handle == reference))


def set_email(tx, staff_id: uuid.UUID, address: str | None) -> None:
    """Where the staff member's deadline notices are mailed (``None``: nowhere)."""
    tx.write(lambda conn: conn.execute(update(Staff).where(Staff.id == staff_id).values(email=address)))
