"""The facts a decision needs, read in one query.

Every client-scoped read and write loads its facts here, so that access is judged in one place:
the acting staff member as they are now (party, roles, active: a change applies at once, ASVS
8.3.2), whether the client exists, its pseudonym and status, the staff member's latest care-team
link to it, their latest break-the-glass window on it, and (for one entry) the entry's row.
``covenant.decide`` then judges them. The one list that spans clients, the clients a staff member
may see, is restricted here too (:func:`visible_clients`).

This is the hot path of every request, so the statements are built once, with bound parameters, and
run through Core: building a SELECT of this shape costs more than running it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Select, String, Uuid, and_, bindparam, exists, or_, select

from audit.types import UTCDateTime
from covenant import ClientFacts, EmergencyFacts, LinkFacts, Resource
from gateway.care.models import CareLink
from gateway.clients.models import Client, ClientStatus
from gateway.emergency.models import EmergencyAccess
from gateway.oauth.models import PartnerSystem, RevokedToken
from gateway.parties.models import Staff
from gateway.records.models import Entry

_staff, _client, _link, _entry = Staff.__table__, Client.__table__, CareLink.__table__, Entry.__table__
_system, _revoked = PartnerSystem.__table__, RevokedToken.__table__
_emergency = EmergencyAccess.__table__
_latest = _link.alias("latest_link")
_latest_emergency = _emergency.alias("latest_emergency")

_STAFF = bindparam("staff_id", type_=Uuid())
_NOW = bindparam("now", type_=UTCDateTime())

# The staff member's link to the client that began last, up to now (a correlated subquery).
_LATEST_LINK = (select(_latest.c.id)
                .where(_latest.c.client_id == _client.c.id, _latest.c.staff_id == _STAFF, _latest.c.since <= _NOW)
                .order_by(_latest.c.since.desc())
                .limit(1)
                .scalar_subquery())

# The staff member's break-the-glass window on the client that began last, up to now: whether it is
# still open is for ``covenant.decide`` to say, as for the link.
_LATEST_EMERGENCY = (select(_latest_emergency.c.id)
                     .where(_latest_emergency.c.client_id == _client.c.id, _latest_emergency.c.staff_id == _STAFF,
                            _latest_emergency.c.since <= _NOW)
                     .order_by(_latest_emergency.c.since.desc())
                     .limit(1)
                     .scalar_subquery())

_ENTRY_COLUMNS = ("id", "kind", "category", "source_party_id", "confidentiality_ground", "purpose", "ciphertext",
                  "key_version", "created_by", "created_at", "shielded_at")

# What the bearer token's own standing is now, read with the staff member: whether it was revoked,
# and whether the partner system it was issued to is still switched on (None: not a partner system).
_TOKEN_COLUMNS = (
    exists().where(_revoked.c.jti == bindparam("token_id", type_=String())).label("token_revoked"),
    select(_system.c.active).where(_system.c.client_id == bindparam("system_id", type_=String()))
    .scalar_subquery().label("system_active"),
)
_STAFF_COLUMNS = (_staff.c.party_id.label("staff_party"), _staff.c.roles.label("staff_roles"),
                  _staff.c.active.label("staff_active"), *_TOKEN_COLUMNS)

# From the staff member: no row means no such staff member; a row without a client, no such client.
FACTS = (
    select(*_STAFF_COLUMNS, _client.c.id, _client.c.pseudonym, _client.c.status, _client.c.informed_at,
           _client.c.client_manager_id,
           _link.c.id.label("link_id"), _link.c.since, _link.c.until,
           _emergency.c.id.label("emergency_id"), _emergency.c.since.label("emergency_since"),
           _emergency.c.until.label("emergency_until"),
           *(_entry.c[name].label(f"entry_{name}") for name in _ENTRY_COLUMNS))
    .select_from(_staff)
    .outerjoin(_client, _client.c.id == bindparam("client_id", type_=Uuid()))
    .outerjoin(_link, _link.c.id == _LATEST_LINK)
    .outerjoin(_emergency, _emergency.c.id == _LATEST_EMERGENCY)
    .outerjoin(_entry, and_(_entry.c.id == bindparam("entry_id", type_=Uuid()), _entry.c.client_id == _client.c.id))
    .where(_staff.c.id == _STAFF)
)
IDENTITY = select(*_STAFF_COLUMNS).where(_staff.c.id == _STAFF)

# A partner system acting on its own has no link of its own: what counts is its party's, the link
# of any of the party's staff to the client that began last (Instrument 1: the party is in the
# client's care team, or has been).
_party_staff = _staff.alias("party_staff")
_PARTY_LINK = (select(_latest.c.id)
               .join(_party_staff, _party_staff.c.id == _latest.c.staff_id)
               .where(_latest.c.client_id == _client.c.id, _party_staff.c.party_id == _system.c.party_id,
                      _latest.c.since <= _NOW)
               .order_by(_latest.c.since.desc())
               .limit(1)
               .scalar_subquery())
SYSTEM_FACTS = (
    select(_system.c.party_id.label("staff_party"), *_TOKEN_COLUMNS, _client.c.id, _client.c.pseudonym,
           _client.c.status, _client.c.informed_at, _client.c.client_manager_id,
           _link.c.id.label("link_id"), _link.c.since, _link.c.until)
    .select_from(_system)
    .outerjoin(_client, _client.c.id == bindparam("client_id", type_=Uuid()))
    .outerjoin(_link, _link.c.id == _PARTY_LINK)
    .where(_system.c.client_id == bindparam("system_id", type_=String()))
)
SYSTEM = select(_system.c.party_id.label("system_party"), *_TOKEN_COLUMNS).where(
    _system.c.client_id == bindparam("system_id", type_=String()))


@dataclass(frozen=True, slots=True)
class TokenStanding:
    """The bearer token as the database knows it now (RFC 7009 revocation; the system switched off)."""

    revoked: bool = False
    system_active: bool | None = None


@dataclass(frozen=True, slots=True)
class StaffFacts:
    """The acting staff member as stored now, with their token's standing."""

    party: str
    roles: list[str]
    active: bool
    token: TokenStanding = TokenStanding()


@dataclass(frozen=True, slots=True)
class SystemFacts:
    """A partner system acting on its own, as stored now."""

    party: str
    token: TokenStanding


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry as stored: its labels in the clear, its content still encrypted."""

    id: uuid.UUID
    client_id: uuid.UUID
    kind: str
    category: str
    source_party_id: str
    confidentiality_ground: str | None
    purpose: str
    ciphertext: bytes
    key_version: int
    created_by: uuid.UUID
    created_at: dt.datetime
    shielded_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessFacts:
    staff: StaffFacts
    client: ClientFacts | None
    pseudonym: str | None
    informed: bool
    link: LinkFacts | None
    entry: EntryRow | None
    emergency: EmergencyFacts | None = None

    def resource(self, category: str | None = None, *, entry_expected: bool = False) -> Resource:
        return Resource(client=self.client, category=category,
                        entry_found=self.entry is not None or not entry_expected, link=self.link,
                        emergency=self.emergency,
                        shielded=self.entry is not None and self.entry.shielded_at is not None)


def _staff_facts(row) -> StaffFacts:
    return StaffFacts(row.staff_party, row.staff_roles, row.staff_active,
                      TokenStanding(bool(row.token_revoked), row.system_active))


def load_staff(conn: Connection, staff_id: uuid.UUID, *, token_id: str | None = None,
               system_id: str | None = None) -> StaffFacts | None:
    row = conn.execute(IDENTITY, {"staff_id": staff_id, "token_id": token_id, "system_id": system_id}).first()
    return _staff_facts(row) if row is not None else None


def load_system(conn: Connection, system_id: str, *, token_id: str | None) -> SystemFacts | None:
    row = conn.execute(SYSTEM, {"system_id": system_id, "token_id": token_id}).first()
    return SystemFacts(row.system_party, TokenStanding(bool(row.token_revoked), row.system_active)) if row else None


def _client_facts(row, staff: StaffFacts, entry: "EntryRow | None" = None,
                  emergency: EmergencyFacts | None = None) -> "AccessFacts":
    if row.id is None or row.status == ClientStatus.PURGING:
        # A client the purge has begun to destroy is, to every decision, already gone (art. 9): nothing
        # of it is read or written while its key and rows go, even when a purge was killed half-way.
        return AccessFacts(staff=staff, client=None, pseudonym=None, informed=False, link=None, entry=None)
    return AccessFacts(
        staff=staff,
        client=ClientFacts(id=str(row.id), processing_stopped=row.status == ClientStatus.PROCESSING_STOPPED,
                           manager=str(row.client_manager_id) if row.client_manager_id else None,
                           informed=row.informed_at is not None),
        pseudonym=row.pseudonym,
        informed=row.informed_at is not None,
        link=LinkFacts(id=str(row.link_id), since=row.since, until=row.until) if row.link_id else None,
        entry=entry,
        emergency=emergency,
    )


def load_system_facts(conn: Connection, *, system_id: str, client_id: uuid.UUID, now: dt.datetime,
                      token_id: str | None) -> "AccessFacts | None":
    """The facts for a partner system acting on ``client_id``: its party stands in for the staff
    member, and the party's latest link for a link of its own. None when there is no such system."""
    row = conn.execute(SYSTEM_FACTS, {"system_id": system_id, "client_id": client_id, "now": now,
                                      "token_id": token_id}).first()
    if row is None:
        return None
    return _client_facts(row, StaffFacts(row.staff_party, [], True,
                                         TokenStanding(bool(row.token_revoked), row.system_active)))


def load_facts(conn: Connection, *, staff_id: uuid.UUID, client_id: uuid.UUID, now: dt.datetime,
               entry_id: uuid.UUID | None = None, token_id: str | None = None,
               system_id: str | None = None) -> AccessFacts | None:
    """The facts for ``staff_id`` acting on ``client_id``; None when there is no such staff member."""
    row = conn.execute(FACTS, {"staff_id": staff_id, "now": now, "entry_id": entry_id, "client_id": client_id,
                               "token_id": token_id, "system_id": system_id}).first()
    if row is None:
        return None
    entry = None
    if row.id is not None and row.entry_id is not None:
        entry = EntryRow(client_id=row.id, **{name: getattr(row, f"entry_{name}") for name in _ENTRY_COLUMNS})
    emergency = (EmergencyFacts(id=str(row.emergency_id), since=row.emergency_since, until=row.emergency_until)
                 if row.emergency_id is not None else None)
    return _client_facts(row, _staff_facts(row), entry, emergency)


def visible_clients(*, staff_id: uuid.UUID, now: dt.datetime, whole_register: bool) -> Select:
    """The clients a staff member may list, each with the staff member's own active link (if any).

    Staff see the clients they have an active care-team link to (Instrument 2e), counted as
    ``covenant.decide`` counts a link: from ``since`` up to, not including, ``until``. The field
    directors, who keep the register (``whole_register``), see every client. ``decide`` has said
    which of the two applies; this statement is where it is enforced, so a list cannot show more.

    The staff member's links drive the query, so a list costs what their links cost, not what the
    register holds. A member has one open link to a client at a time (``care.service.queue_link``
    checks it where the link is written), so the join repeats no client.
    """
    own = (select(_link.c.client_id, _link.c.since, _link.c.until)
           .where(_link.c.staff_id == staff_id, _link.c.since <= now, or_(_link.c.until.is_(None), _link.c.until > now))
           .subquery("own_link"))
    columns = (_client.c.id, _client.c.pseudonym, _client.c.status, _client.c.informed_at,
               _client.c.client_manager_id, _client.c.created_at, _client.c.last_contact_at,
               own.c.since.label("linked_since"), own.c.until.label("linked_until"))
    joined = (_client.outerjoin(own, own.c.client_id == _client.c.id) if whole_register
              else own.join(_client, _client.c.id == own.c.client_id))
    return select(*columns).select_from(joined)
