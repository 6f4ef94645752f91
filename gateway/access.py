"""The facts a decision about a client needs, read in one query.

Every client-scoped read and write loads its facts here, so that access is judged in one place:
whether the client exists, its pseudonym and status, the acting staff member's latest care-team
link to it, and (for one entry) the entry's row. ``covenant.decide`` then judges them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, literal, select
from sqlalchemy.orm import Session

from covenant import ClientFacts, LinkFacts, Resource
from gateway.care.models import CareLink
from gateway.clients.models import Client, ClientStatus
from gateway.records.models import Entry

_LATEST = CareLink.__table__.alias("latest_link")


@dataclass(frozen=True, slots=True)
class AccessFacts:
    client: ClientFacts | None
    pseudonym: str | None
    informed: bool
    link: LinkFacts | None
    entry: Entry | None

    def resource(self, category: str | None = None, *, entry_expected: bool = False) -> Resource:
        return Resource(client=self.client, category=category,
                        entry_found=self.entry is not None or not entry_expected)


def _latest_link(staff_id: uuid.UUID, now: dt.datetime):
    """The staff member's link to the client that began last, up to now (a correlated subquery)."""
    return (select(_LATEST.c.id)
            .where(_LATEST.c.client_id == Client.id, _LATEST.c.staff_id == staff_id, _LATEST.c.since <= now)
            .order_by(_LATEST.c.since.desc())
            .limit(1)
            .scalar_subquery())


def load_facts(session: Session, *, staff_id: uuid.UUID | None, client_id: uuid.UUID, now: dt.datetime,
               entry_id: uuid.UUID | None = None) -> AccessFacts:
    link_id = _latest_link(staff_id, now) if staff_id is not None else literal(None)
    columns = [Client.id, Client.pseudonym, Client.status, Client.informed_at,
               CareLink.id.label("link_id"), CareLink.since, CareLink.until]
    statement = (select(*columns).select_from(Client).outerjoin(CareLink, CareLink.id == link_id)
                 .where(Client.id == client_id))
    if entry_id is not None:
        statement = statement.add_columns(Entry).outerjoin(
            Entry, and_(Entry.id == entry_id, Entry.client_id == Client.id))
    row = session.execute(statement).first()
    if row is None:
        return AccessFacts(client=None, pseudonym=None, informed=False, link=None, entry=None)
    link = LinkFacts(id=str(row.link_id), since=row.since, until=row.until) if row.link_id else None
    return AccessFacts(
        client=ClientFacts(id=str(row.id), processing_stopped=row.status == ClientStatus.PROCESSING_STOPPED),
        pseudonym=row.pseudonym,
        informed=row.informed_at is not None,
        link=link,
        entry=row.Entry if entry_id is not None else None,
    )
