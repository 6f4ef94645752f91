"""The covenant vocabulary as frozen values.

A covenant document (see ``policies/``) is loaded into these objects by
:mod:`covenant.loader`; nothing here knows about files, databases or HTTP.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


class Role(enum.StrEnum):
    """What a staff member does under the covenant (Instrument 2, art. 3 and 7).

    The gateway's own operator (``administrator``, the *beheerder* of art. 3) is
    not a staff member of a party; the CLI acts in that role.
    """

    CLIENT_MANAGER = "client_manager"
    FIELD_DIRECTOR = "field_director"
    PRIVACY_OFFICER = "privacy_officer"
    PROSECUTOR = "prosecutor"
    STAFF = "staff"
    ADMINISTRATOR = "administrator"
    SYSTEM = "system"


# The administrator and a partner system acting on its own (no staff member) are no staff.
STAFF_ROLES = frozenset(role for role in Role if role not in (Role.ADMINISTRATOR, Role.SYSTEM))

# Art. 3: the three categories every covenant has; art. 5 gives "criminal" its own rule.
ORDINARY, SPECIAL, CRIMINAL = "ordinary", "special", "criminal"
CORE_CATEGORIES = (ORDINARY, SPECIAL, CRIMINAL)


class Action(enum.StrEnum):
    """What a decision is asked about."""

    RECORD_READ = "record.read"
    RECORD_WRITE = "record.write"
    AUDIT_READ = "audit.read"
    CLIENT_REGISTER = "client.register"
    CLIENT_READ = "client.read"
    CLIENT_LIST = "client.list"
    TEAM_READ = "team.read"
    LINK_GRANT = "link.grant"
    LINK_END = "link.end"
    TOKEN_ISSUE = "token.issue"
    TOKEN_GRANT = "token.grant"
    EVENT_RECORD = "event.record"
    PARTNER_MANAGE = "partner.manage"
    TOKEN_REVOKE = "token.revoke"
    TOKEN_INTROSPECT = "token.introspect"
    KEYS_ROTATE = "keys.rotate"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_SEAL = "audit.seal"
    AUDIT_CHECKPOINTS = "audit.checkpoints"
    AUDIT_PROVE = "audit.prove"
    DEMO_SEED = "demo.seed"
    SERVICE_START = "service.start"
    EMERGENCY_OPEN = "emergency.open"
    EMERGENCY_REVIEW = "emergency.review"


class Right(enum.StrEnum):
    READ = "read"
    WRITE = "write"


class FieldType(enum.StrEnum):
    """Types a field of the data set (art. 6) may have."""

    TEXT = "text"
    DATE = "date"
    CHOICE = "choice"
    LIFE_DOMAIN = "life_domain"
    PARTY = "party"


@dataclass(frozen=True, slots=True)
class PartyKind:
    """A kind of covenant party (art. 2), with its rights on the data categories (art. 8.1b)."""

    code: str
    name: str
    criminal_justice: bool
    read: frozenset[str]
    write: frozenset[str]

    def may(self, right: Right, category: str) -> bool:
        return category in (self.read if right is Right.READ else self.write)


@dataclass(frozen=True, slots=True)
class Party:
    """One signatory of a concrete covenant."""

    code: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Purpose:
    """A purpose a request may state (art. 4, and the controller's own duties).

    ``actions`` lists what may be done for this purpose; ``roles`` (when not
    empty) limits who may state it.
    """

    code: str
    name: str
    article: str
    actions: frozenset[Action]
    roles: frozenset[Role]


@dataclass(frozen=True, slots=True)
class Category:
    """A data category (art. 3): ordinary, special or criminal personal data."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration as the covenant states its terms (days, weeks, months, years)."""

    years: int = 0
    months: int = 0
    days: int = 0

    def __str__(self) -> str:
        parts = [f"{n}{unit}" for n, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if n]
        return "P" + "".join(parts or ["0D"])


@dataclass(frozen=True, slots=True)
class Terms:
    """The subject-rights terms (art. 12-14)."""

    access: Duration
    correction_decision: Duration
    correction_execution: Duration
    objection_decision: Duration


@dataclass(frozen=True, slots=True)
class Retention:
    """Art. 9.3: destroy at the latest this long after the client's last contact with any party."""

    after_last_contact: Duration


@dataclass(frozen=True, slots=True)
class Emergency:
    """Break-the-glass: whether a staff member without a care-team link may open a client's file in an
    emergency, with a stated reason, and for how long (``window``) such an opening lasts.

    Instrument 2e gives access only to the linked; an emergency is the one exception a covenant may
    make, and it is always flagged in the trail and reviewed afterwards by a privacy officer (art. 8).
    Off unless the covenant document switches it on.
    """

    enabled: bool = False
    window: dt.timedelta = dt.timedelta(0)


EMERGENCY_OFF = Emergency()


@dataclass(frozen=True, slots=True)
class Code:
    """An entry of a code list: confidentiality grounds (art. 12), life domains."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of an entry kind's data set (art. 6)."""

    name: str
    type: FieldType
    required: bool
    max_length: int | None = None
    choices: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EntryKind:
    """A kind of entry in a client's file, with its fixed data set (art. 6).

    ``last_contact_field`` names the date field, if any, that records a contact of the client with a
    party: recording one moves the client's last contact, from which the five-year term runs (art. 9.3).
    """

    code: str
    name: str
    fields: Mapping[str, FieldSpec]
    last_contact_field: str | None = None


@dataclass(frozen=True, slots=True)
class Covenant:
    """A concrete covenant as the gateway enforces it."""

    id: str
    version: str
    name: str
    controller: str
    party_kinds: Mapping[str, PartyKind]
    parties: Mapping[str, Party]
    purposes: Mapping[str, Purpose]
    categories: Mapping[str, Category]
    terms: Terms
    retention: Retention
    confidentiality_grounds: Mapping[str, Code]
    life_domains: Mapping[str, Code]
    entry_kinds: Mapping[str, EntryKind]
    emergency: Emergency = EMERGENCY_OFF
    digest: str = field(default="", compare=False)
    kind_of_party: Mapping[str, PartyKind] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up on every decision: one dict access instead of two.
        object.__setattr__(self, "kind_of_party", frozen_mapping(
            {code: self.party_kinds[party.kind] for code, party in self.parties.items()}))

    @property
    def label(self) -> str:
        """How audit events name the covenant version a decision rested on."""
        return f"{self.id}@{self.version}"

    def party_kind_of(self, party_code: str) -> PartyKind | None:
        return self.kind_of_party.get(party_code)


def frozen_mapping(items: Mapping) -> Mapping:
    return MappingProxyType(dict(items))
