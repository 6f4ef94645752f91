"""The covenant vocabulary as frozen values.

A covenant document (see ``policies/``) is loaded into these objects by
:mod:`covenant.loader`; nothing here knows about files, databases or HTTP.
"""

from __future__ import annotations

import calendar
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
# Art. 5: the party kind whose prosecutors approve the disclosure of criminal data outside the chain.
PROSECUTION = "prosecution"
# Art. 10: the entry kind of the intake form, which is not written before the client has been informed.
INTAKE = "intake"


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
    JOB_RUN = "job.run"
    JOB_LIST = "job.list"
    STAFF_MANAGE = "staff.manage"
    REQUEST_RECORD = "request.record"
    REQUEST_READ = "request.read"
    REQUEST_LIST = "request.list"
    REQUEST_HANDLE = "request.handle"
    REQUEST_DECIDE = "request.decide"
    NOTIFICATION_READ = "notification.read"
    NOTICE_READ = "notice.read"
    RETENTION_HOLD = "retention.hold"
    STATISTICS_DECIDE = "statistics.decide"
    STATISTICS_READ = "statistics.read"
    COVENANT_MANAGE = "covenant.manage"
    REGISTER_READ = "register.read"
    REPORT_READ = "report.read"
    DISCLOSURE_MANAGE = "disclosure.manage"
    CLIENT_INFORM = "client.inform"
    TASK_LIST = "task.list"
    CONSENT_MANAGE = "consent.manage"


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
    empty) limits who may state it. ``activity``: the processing activity's identifier in the
    processing register (art. 15), when the document sets one; see :meth:`Covenant.activity_of`.
    """

    code: str
    name: str
    article: str
    actions: frozenset[Action]
    roles: frozenset[Role]
    activity: str | None = None


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

    def after(self, start: dt.date) -> dt.date:
        """The day this duration after ``start``: years and months first, by the calendar, then days.

        A month ends on the same day number in the month it lands in, or on that month's last day when
        it has no such day: 31 January + P1M is 28 February (29 in a leap year), 31 March + P1M is
        30 April. Days are counted after that, so P1M14D from 31 January is 14 March (or 13 March).
        "One month" is a calendar month from the day, not thirty days (GDPR art. 12(3) counts in months;
        Regulation 1182/71 art. 3(2)(c) ends a month-term on the same date, or the month's last day).
        """
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day) + dt.timedelta(days=self.days)


# GDPR art. 12(3): information on action taken on a request "without undue delay and in any event within one
# month of receipt"; the access term when a covenant states none.
GDPR_ACCESS_TERM = Duration(months=1)


@dataclass(frozen=True, slots=True)
class Terms:
    """The subject-rights terms (art. 12-14).

    ``algemene_termijnenwet``: whether the Dutch Algemene termijnenwet extends these terms (a term ending
    on a Saturday, Sunday or generally recognised holiday ends on the next day that is none of those).
    The Atw binds terms set by Dutch statute, not those of a covenant or an EU regulation, so it applies
    only when the covenant adopts it; off unless the document says so.
    """

    access: Duration
    correction_decision: Duration
    correction_execution: Duration
    objection_decision: Duration
    algemene_termijnenwet: bool = False


# Art. 9.4-9.5: a de-identified extract is kept only for groups of at least this many clients
# (k-anonymity over the extract's quasi-identifiers) when a covenant states no ``statistics_k``.
DEFAULT_STATISTICS_K = 5

# How long a backup of the key store may still unwrap the data keys it holds, when a covenant states no
# ``backup_grace``: the key-encryption key that wraps them is replaced and destroyed within this term.
DEFAULT_BACKUP_GRACE = Duration(days=30)


@dataclass(frozen=True, slots=True)
class Retention:
    """Art. 9.3: destroy at the latest this long after the client's last contact with any party.

    Art. 9.4-9.5: what the controller keeps longer for statistics is stripped of identity; ``statistics_k``
    is the smallest group of clients a row of the kept extract may stand for.

    Crypto-shredding: ``backup_grace`` is the longest a destroyed client's file can still be restored from
    backups, since a key-store backup is useless once the key-encryption key that wrapped it is destroyed;
    the gateway replaces that key within this term (job ``keys.rotate``).
    """

    after_last_contact: Duration
    statistics_k: int = DEFAULT_STATISTICS_K
    backup_grace: Duration = DEFAULT_BACKUP_GRACE

    def ends_on(self, registered_on: dt.date, last_contact_on: dt.date | None) -> dt.date:
        """Art. 9.3: the day the client's term ends: ``after_last_contact`` after the last contact, or
        after the registration for a client with no contact reported (the file was made then)."""
        return self.after_last_contact.after(last_contact_on or registered_on)


@dataclass(frozen=True, slots=True)
class Reporting:
    """Instrument 2: the monthly progress report to the coordination point (aggregates, no personal data).

    ``intake``: the client manager's intake is due this long after the client's registration (Instrument 2:
    "within one week of assignment"). ``care_plan``: the care plan's first goal or action is due this long
    after the registration (Instrument 2: intake within a week, partners' information within two weeks,
    the care plan within a week after that: four weeks). ``suppress_below``: a count smaller than this is
    shown as ``<n`` (``None``: the covenant's ``[retention] statistics_k``).
    """

    intake: Duration = Duration(days=7)
    care_plan: Duration = Duration(days=28)
    suppress_below: int | None = None


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
class ConsentRule:
    """An exchange the covenant makes depend on the client's consent (``[consents.<code>]``), such as the
    one between the municipality and the care office (seed 003: "een toestemmingsformulier voor
    gegevensuitwisseling tussen gemeente en zorgkantoor"): a party of a kind on one side reads, in
    ``categories``, what a party of a kind on the other side wrote only while the client's consent to
    this exchange is in force."""

    code: str
    name: str
    first: frozenset[str]
    second: frozenset[str]
    categories: frozenset[str]

    def applies(self, reader_kind: str, source_kind: str, category: str | None) -> bool:
        return category in self.categories and (
            (reader_kind in self.first and source_kind in self.second)
            or (reader_kind in self.second and source_kind in self.first))


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
    reporting: Reporting = Reporting()
    consents: Mapping[str, ConsentRule] = field(default_factory=lambda: frozen_mapping({}))
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

    def consent_rules(self, reader_party: str | None, source_party: str | None,
                      category: str | None) -> tuple[ConsentRule, ...]:
        """The exchanges depending on the client's consent (``[consents.<code>]``) that ``reader_party``
        reading what ``source_party`` wrote in ``category`` crosses; none for a party's own entries or a
        party the covenant does not know. Empty for nearly every read, so the caller need not look up the
        client's consents at all."""
        if not self.consents or reader_party is None or source_party is None or source_party == reader_party:
            return ()
        reader, source = self.kind_of_party.get(reader_party), self.kind_of_party.get(source_party)
        if reader is None or source is None:
            return ()
        return tuple(rule for rule in self.consents.values() if rule.applies(reader.code, source.code, category))

    def activity_of(self, purpose_code: str) -> str:
        """Art. 15: the processing activity a purpose stands for in the processing register.

        Stable across versions: the document's ``activity`` for the purpose, else ``<covenant id>:<purpose>``;
        neither the version nor the other purposes enter it, so an audit event written under one version
        names the same activity as one written under the next (Logboek Dataverwerkingen links each log
        entry to its register entry by this identifier).
        """
        purpose = self.purposes.get(purpose_code)
        if purpose is not None and purpose.activity:
            return purpose.activity
        return f"{self.id}:{purpose_code}"

    @property
    def suppress_below(self) -> int:
        """The smallest count the monthly report shows as a number (Instrument 2; see :class:`Reporting`)."""
        return self.reporting.suppress_below or self.retention.statistics_k


def frozen_mapping(items: Mapping) -> Mapping:
    return MappingProxyType(dict(items))
