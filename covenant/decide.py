"""The access decision: one pure function that every read, write and administrative act goes through.

``decide(subject, action, resource, context)`` takes facts, never fetches them, and answers with a
:class:`Decision`: allowed or not, the first rule that refused (``reason``), and the authority a
permit rested on (the care-team link, the role). The gateway writes the decision into the audit
trail whether it permits or refuses.

The rules, in the order they are applied:

1. The staff member is active.
2. The token carries the scope for the action (when acting by token).
3. The purpose is one of the covenant's, allows the action, and may be stated in the subject's role
   (art. 4: exchange only for the covenant's purposes).
4. The action's own rules:

   * records (art. 5, 8, 14): the client exists; the subject has a care-team link to the client that
     has begun and not ended at this moment (Instrument 2e: "all officials involved with one client
     have access to that client's data, and nobody else"); the client's processing has not been
     stopped by a justified objection (checked after the link, so that nobody unlinked learns of
     it); the subject's party kind has the right on the category (art. 8.1b); criminal data only
     for criminal-justice parties (art. 5: not passed on without the public prosecutor's consent).
     Break-the-glass: where the covenant allows it, a staff member without an active link reads the
     file during an emergency window they opened with a stated reason (``resource.emergency``); the
     window stands in for the link and nothing else: a stopped client stays closed, the party's
     rights and the criminal-data rule still apply, and the permit names the window
     (``emergency:<id>``) so that every such read is flagged in the trail. Writing needs a link.
   * opening an emergency window: staff of a covenant party, where the covenant allows it, for a
     client that exists, they are not linked to, and whose processing has not been stopped.
   * reviewing emergency windows: only privacy officers.
   * the audit trail: only privacy officers.
   * a client's summary and care team (reading): the field directors, who keep the client register;
     otherwise staff of a covenant party with an active link to the client, as for records, but
     also after an objection has stopped processing (the team must still be seen and wound down).
   * the list of clients: the field directors list the register; other staff of a covenant party
     list the clients they are linked to (the list itself is restricted, not the decision).
   * the care team (changing it): a field director, or the client's own client manager (the one
     recorded for the client, not anyone holding the role), while linked.
   * clients' rights requests (art. 11-14: recording, reading, handling, deciding): only the client's
     own client manager (the one recorded for the client, Instrument 2), while linked; also after an
     objection has stopped processing, since the request itself must still be handled. The queue
     of requests: client managers (the list itself is restricted to their own clients).
   * shielded entries (art. 13, a granted correction "shield"): hidden from everyone but the client's
     own client manager; to anyone else the entry does not exist.
   * notifications of corrections (GDPR art. 19): staff and systems of a covenant party fetch their
     own party's.
   * the statistics decision (art. 9.4-9.5: keep a de-identified extract after the term): the
     controller decides (art. 7), and the controller's duties are carried out by its coordination
     point, so a field director of the controller's party (the party the covenant names as
     controller), for a client that exists. Field directors of other parties and every other role
     are refused (``not_controller``, ``role_required``).
   * the processing register (art. 15) and the monthly report (Instrument 2): the controller's
     (art. 7): the register for its privacy officers and field directors, the report for its field
     directors (the coordination point); and the local administrator, from the command line.
   * disclosing criminal data (art. 5): a staff member with the prosecutor role of a prosecution party
     approves (lists, revokes) the disclosure of one criminal entry to one party outside the
     criminal-justice chain; while the approval is in force (``resource.disclosure``) the party's
     linked staff read that entry (never through a break-the-glass window).
   * the duty to inform (art. 10): an intake-form section is not written before the client has been
     informed (``client_not_informed``); the client's own client manager records the moment, while
     linked, and lists their own tasks (partner data that arrived before that moment).
   * consent (``[consents.<code>]``): reading, in the exchange's categories, what a party of a kind on
     the other side of an exchange that depends on consent wrote needs the client's consent to it in
     force (``consent_missing``, ``consent_withdrawn``); the client's own client manager records and
     withdraws consents, while linked.
   * the gateway's administration: only the local administrator (beheerder, art. 3), who is no staff
     member of a party, and never by token.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from typing import NamedTuple

from covenant.model import CRIMINAL, INTAKE, PROSECUTION, Action, Covenant, Role
from covenant.scopes import scopes_for


class Reason(enum.StrEnum):
    PERMITTED = "permitted"
    STAFF_INACTIVE = "staff_inactive"
    SCOPE_MISSING = "scope_missing"
    PURPOSE_UNKNOWN = "purpose_unknown"
    PURPOSE_NOT_FOR_ACTION = "purpose_not_for_action"
    ROLE_NOT_FOR_PURPOSE = "role_not_for_purpose"
    ROLE_REQUIRED = "role_required"
    PARTY_UNKNOWN = "party_unknown"
    CLIENT_UNKNOWN = "client_unknown"
    PROCESSING_STOPPED = "processing_stopped"
    NOT_LINKED = "not_linked"
    ALREADY_LINKED = "already_linked"
    EMERGENCY_DISABLED = "emergency_disabled"
    LINK_NOT_STARTED = "link_not_started"
    LINK_ENDED = "link_ended"
    ENTRY_UNKNOWN = "entry_unknown"
    CATEGORY_UNKNOWN = "category_unknown"
    CATEGORY_NOT_PERMITTED = "category_not_permitted"
    CRIMINAL_DATA_RESTRICTED = "criminal_data_restricted"
    NOT_DEMO_MODE = "not_demo_mode"
    NOT_CLIENT_MANAGER = "not_client_manager"
    SCOPE_NOT_ALLOWED = "scope_not_allowed"
    ENTRY_SHIELDED = "entry_shielded"
    NOT_CONTROLLER = "not_controller"
    # Art. 5: the prosecutor's approval of a disclosure of criminal data.
    NOT_PROSECUTION = "not_prosecution"
    NOT_CRIMINAL_DATA = "not_criminal_data"
    RECIPIENT_UNKNOWN = "recipient_unknown"
    DISCLOSURE_NOT_NEEDED = "disclosure_not_needed"
    # Art. 10: the duty to inform.
    CLIENT_NOT_INFORMED = "client_not_informed"
    # An exchange the covenant makes depend on the client's consent.
    CONSENT_MISSING = "consent_missing"
    CONSENT_WITHDRAWN = "consent_withdrawn"


# The facts are NamedTuples: immutable like frozen dataclasses, and several times cheaper to build,
# which matters on a path that builds them for every request.


class Subject(NamedTuple):
    """Who acts: a staff member of a party, or the local administrator (``id`` None).

    ``scopes`` is what the bearer token grants; ``None`` when not acting by token (the CLI).
    """

    id: str | None
    party: str | None
    roles: frozenset[Role]
    active: bool = True
    scopes: frozenset[str] | None = None

    @classmethod
    def administrator(cls) -> "Subject":
        return cls(id=None, party=None, roles=frozenset({Role.ADMINISTRATOR}))


class ClientFacts(NamedTuple):
    """The client as far as a decision needs: its id, whether processing has stopped (art. 14), and
    who its one client manager is (Instrument 2), if one has been assigned."""

    id: str
    processing_stopped: bool = False
    manager: str | None = None
    informed: bool = True  # art. 10: the client has been informed of the processing


class LinkFacts(NamedTuple):
    """The subject's latest care-team link to the client; ``until`` is exclusive."""

    id: str
    since: dt.datetime
    until: dt.datetime | None = None


class EmergencyFacts(NamedTuple):
    """The subject's latest break-the-glass window on the client; ``until`` is exclusive."""

    id: str
    since: dt.datetime
    until: dt.datetime


class Resource(NamedTuple):
    """What the action is on, as it stands to the subject.

    ``client`` None for a client action means: no such client. ``link`` is the subject's latest
    care-team link to the client, if any; ``emergency`` their latest break-the-glass window on it.
    ``shielded``: the entry has been shielded after a correction request (art. 13).
    """

    client: ClientFacts | None = None
    category: str | None = None
    entry_found: bool = True
    link: LinkFacts | None = None
    emergency: EmergencyFacts | None = None
    shielded: bool = False
    # Art. 5: the prosecutor's approval in force disclosing this criminal entry to the subject's party
    # (its id), if any; and, when approving one, the party it would disclose to.
    disclosure: str | None = None
    recipient: str | None = None
    # The kind of entry being written (art. 10: no intake-form section before the client is informed).
    entry_kind: str | None = None
    # Consent: the party whose entry is read, and the client's consents (by the covenant's exchange code)
    # in force now, and those withdrawn with none in force.
    source_party: str | None = None
    consents: frozenset[str] = frozenset()
    withdrawn_consents: frozenset[str] = frozenset()


class Context(NamedTuple):
    """What holds for every decision of one request: the covenant in force, the purpose, the moment."""

    covenant: Covenant
    purpose: str
    now: dt.datetime
    demo_mode: bool = False


class Decision(NamedTuple):
    """``covenant_version``: the label of the covenant version the decision was taken under (art. 16)."""

    allowed: bool
    reason: Reason
    authority: str | None = None
    covenant_version: str | None = None


REQUIRED_SCOPE: dict[Action, str] = {
    Action.RECORD_READ: "records:read",
    Action.RECORD_WRITE: "records:write",
    Action.AUDIT_READ: "audit:read",
    Action.CLIENT_REGISTER: "team:manage",
    Action.CLIENT_READ: "records:read",
    Action.CLIENT_LIST: "records:read",
    Action.TEAM_READ: "records:read",
    Action.LINK_GRANT: "team:manage",
    Action.LINK_END: "team:manage",
    Action.EVENT_RECORD: "events:write",
    Action.EMERGENCY_OPEN: "records:read",
    Action.EMERGENCY_REVIEW: "audit:read",
    Action.REQUEST_RECORD: "requests:handle",
    Action.REQUEST_READ: "requests:handle",
    Action.REQUEST_LIST: "requests:handle",
    Action.REQUEST_HANDLE: "requests:handle",
    Action.REQUEST_DECIDE: "requests:handle",
    Action.NOTIFICATION_READ: "notifications:read",
    Action.NOTICE_READ: "requests:handle",
    Action.RETENTION_HOLD: "requests:handle",
    Action.STATISTICS_DECIDE: "team:manage",
    Action.STATISTICS_READ: "reports:read",
    Action.REGISTER_READ: "reports:read",
    Action.REPORT_READ: "reports:read",
    Action.DISCLOSURE_MANAGE: "disclosures:approve",
    Action.CLIENT_INFORM: "team:manage",
    Action.TASK_LIST: "team:manage",
    Action.CONSENT_MANAGE: "team:manage",
}

_ADMINISTRATION = frozenset({
    Action.TOKEN_ISSUE, Action.KEYS_ROTATE, Action.AUDIT_VERIFY, Action.DEMO_SEED, Action.SERVICE_START,
    Action.PARTNER_MANAGE, Action.AUDIT_SEAL, Action.AUDIT_CHECKPOINTS, Action.AUDIT_PROVE,
    Action.JOB_RUN, Action.JOB_LIST, Action.STAFF_MANAGE, Action.COVENANT_MANAGE,
})
_TEAM = frozenset({Action.LINK_GRANT, Action.LINK_END})
_TOKEN_MANAGEMENT = frozenset({Action.TOKEN_REVOKE, Action.TOKEN_INTROSPECT})
_CLIENT_READS = frozenset({Action.CLIENT_READ, Action.TEAM_READ})
_REQUESTS = frozenset({Action.REQUEST_RECORD, Action.REQUEST_READ, Action.REQUEST_HANDLE, Action.REQUEST_DECIDE})
# What a partner system acting on its own may do: report events, fetch its party's notifications.
_SYSTEM_ACTIONS = frozenset({Action.EVENT_RECORD, Action.NOTIFICATION_READ})
_REGISTRARS = frozenset({Role.CLIENT_MANAGER, Role.FIELD_DIRECTOR})
_DENIALS = {reason: Decision(False, reason) for reason in Reason if reason is not Reason.PERMITTED}
_AS_ADMINISTRATOR = Decision(True, Reason.PERMITTED, "role:administrator")
_AS_PRIVACY_OFFICER = Decision(True, Reason.PERMITTED, "role:privacy_officer")
_AS_FIELD_DIRECTOR = Decision(True, Reason.PERMITTED, "role:field_director")
_AS_CLIENT_MANAGER = Decision(True, Reason.PERMITTED, "role:client_manager")
_AS_CONTROLLER = Decision(True, Reason.PERMITTED, "controller:field_director")
_AS_PROSECUTOR = Decision(True, Reason.PERMITTED, "role:prosecutor")
_BY_OWN_LINKS = Decision(True, Reason.PERMITTED, "care_links:own")
_OWN_NOTICES = Decision(True, Reason.PERMITTED, "notices:own")
_NOTICE_ROLES = frozenset({Role.CLIENT_MANAGER, Role.PRIVACY_OFFICER, Role.FIELD_DIRECTOR})


def decide(subject: Subject, action: Action, resource: Resource, context: Context) -> Decision:
    """Decide whether ``subject`` may do ``action`` on ``resource`` in ``context``; the decision names
    the covenant version it was taken under."""
    return _decide(subject, action, resource, context)._replace(covenant_version=context.covenant.label)


def _decide(subject: Subject, action: Action, resource: Resource, context: Context) -> Decision:
    if not subject.active:
        return _DENIALS[Reason.STAFF_INACTIVE]
    if action is Action.TOKEN_GRANT:
        return _decide_token(subject, context)
    if action in _TOKEN_MANAGEMENT:
        return _decide_token_management(subject, context)
    if subject.scopes is not None:
        if action in _ADMINISTRATION:
            return _DENIALS[Reason.ROLE_REQUIRED]
        if REQUIRED_SCOPE[action] not in subject.scopes:
            return _DENIALS[Reason.SCOPE_MISSING]
    purpose = context.covenant.purposes.get(context.purpose)
    if purpose is None:
        return _DENIALS[Reason.PURPOSE_UNKNOWN]
    if action not in purpose.actions:
        return _DENIALS[Reason.PURPOSE_NOT_FOR_ACTION]
    if purpose.roles and purpose.roles.isdisjoint(subject.roles):
        return _DENIALS[Reason.ROLE_NOT_FOR_PURPOSE]
    if Role.SYSTEM in subject.roles and action not in _SYSTEM_ACTIONS:
        # Instrument 2e: only linked officials see a file; a partner system alone only reports events.
        return _DENIALS[Reason.ROLE_REQUIRED]

    if action is Action.RECORD_READ:
        return _decide_record(subject, True, resource, context)
    if action is Action.RECORD_WRITE:
        return _decide_record(subject, False, resource, context)
    if action is Action.EMERGENCY_OPEN:
        return _decide_emergency_open(subject, resource, context)
    if action is Action.AUDIT_READ or action is Action.EMERGENCY_REVIEW:
        return _AS_PRIVACY_OFFICER if Role.PRIVACY_OFFICER in subject.roles else _DENIALS[Reason.ROLE_REQUIRED]
    if action is Action.CLIENT_REGISTER:
        if Role.FIELD_DIRECTOR in subject.roles:
            return _AS_FIELD_DIRECTOR
        return _AS_CLIENT_MANAGER if Role.CLIENT_MANAGER in subject.roles else _DENIALS[Reason.ROLE_REQUIRED]
    if action in _CLIENT_READS:
        return _decide_client_read(subject, resource, context)
    if action is Action.CLIENT_LIST:
        if keeps_client_register(subject):
            return _AS_FIELD_DIRECTOR
        if context.covenant.kind_of_party.get(subject.party) is None:
            return _DENIALS[Reason.PARTY_UNKNOWN]
        return _BY_OWN_LINKS
    if action in _TEAM:
        return _decide_team(subject, resource, context)
    if action is Action.EVENT_RECORD:
        return _decide_event(subject, resource, context)
    if action in _REQUESTS:
        return _decide_request(subject, resource, context)
    if action is Action.REQUEST_LIST:
        return _AS_CLIENT_MANAGER if Role.CLIENT_MANAGER in subject.roles else _DENIALS[Reason.ROLE_REQUIRED]
    if action is Action.NOTICE_READ:
        # Art. 13-14: the deadline notices addressed to the staff member; nobody reads another's. They
        # are addressed to client managers (reminders, escalations), privacy officers (escalations) and,
        # art. 9.3-9.5, the controller's field directors (a client's retention term ending).
        if context.covenant.kind_of_party.get(subject.party) is None:
            return _DENIALS[Reason.PARTY_UNKNOWN]
        if not subject.roles & _NOTICE_ROLES:
            return _DENIALS[Reason.ROLE_REQUIRED]
        return _OWN_NOTICES
    if action is Action.RETENTION_HOLD:
        return _decide_hold(subject, resource, context)
    if action is Action.STATISTICS_DECIDE:
        return _decide_statistics(subject, resource, context)
    if action is Action.REGISTER_READ or action is Action.REPORT_READ or action is Action.STATISTICS_READ:
        return _decide_accountability(subject, action, context)
    if action is Action.DISCLOSURE_MANAGE:
        return _decide_disclosure(subject, resource, context)
    if action is Action.CLIENT_INFORM:
        return _decide_inform(subject, resource, context)
    if action is Action.CONSENT_MANAGE:
        return _decide_consent_record(subject, resource, context)
    if action is Action.TASK_LIST:
        # Art. 10: the tasks are the client manager's own (the list itself is restricted to them).
        return _AS_CLIENT_MANAGER if Role.CLIENT_MANAGER in subject.roles else _DENIALS[Reason.ROLE_REQUIRED]
    if action is Action.NOTIFICATION_READ:
        if context.covenant.kind_of_party.get(subject.party) is None:
            return _DENIALS[Reason.PARTY_UNKNOWN]
        return _permit_by_party(subject.party)
    if action in _ADMINISTRATION:
        if Role.ADMINISTRATOR not in subject.roles or subject.id is not None:
            return _DENIALS[Reason.ROLE_REQUIRED]
        if action is Action.DEMO_SEED and not context.demo_mode:
            return _DENIALS[Reason.NOT_DEMO_MODE]
        return _AS_ADMINISTRATOR
    return _DENIALS[Reason.ROLE_REQUIRED]


def _decide_hold(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Art. 9.3 with art. 7: placing, releasing and reading a legal hold on a client's file is for the
    controller's privacy officers. A hold sets aside the destruction the controller owes under art. 9.3
    (for a request or objection still to be answered, a dispute, an order), so it is the controller's
    call, taken by those who answer for the clients' rights and already receive the escalations of
    their requests; not a field director's, who keeps the register but decides nothing about keeping
    data, nor a client manager's, who handles the requests but does not keep data past its term."""
    if Role.PRIVACY_OFFICER not in subject.roles or subject.party != context.covenant.controller:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if resource.client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    return _AS_PRIVACY_OFFICER


def _link_state(link: LinkFacts | None, now: dt.datetime) -> Reason:
    """Instrument 2e: access only while linked. A link counts from ``since`` up to, not including, ``until``."""
    if link is None:
        return Reason.NOT_LINKED
    if now < link.since:
        return Reason.LINK_NOT_STARTED
    if link.until is not None and now >= link.until:
        return Reason.LINK_ENDED
    return Reason.PERMITTED


def _decide_record(subject: Subject, read: bool, resource: Resource, context: Context) -> Decision:
    kind = context.covenant.kind_of_party.get(subject.party)
    if kind is None:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    client = resource.client
    if client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    link, now = resource.link, context.now
    if link is None or now < link.since or (link.until is not None and now >= link.until):
        emergency = resource.emergency
        if not read or emergency is None or not _emergency_open(emergency, context):
            return _DENIALS[_link_state(link, now)]  # the hot path tests activity inline; this says why not
        permit = _permit_by_emergency(emergency.id)
    else:
        permit = _permit_by_link(link.id)
    if client.processing_stopped:  # art. 14: a justified objection stops processing
        return _DENIALS[Reason.PROCESSING_STOPPED]
    if not resource.entry_found:
        return _DENIALS[Reason.ENTRY_UNKNOWN]
    if resource.shielded and (subject.id is None or subject.id != client.manager):
        return _DENIALS[Reason.ENTRY_SHIELDED]  # art. 13: shielded from all but the client's client manager
    category = resource.category
    if read and category == CRIMINAL and resource.disclosure is not None and not kind.criminal_justice:
        return _read_disclosed(permit, resource.disclosure)  # art. 5: approved by a prosecutor
    if category not in context.covenant.categories:
        return _DENIALS[Reason.CATEGORY_UNKNOWN]
    if category not in (kind.read if read else kind.write):  # art. 8.1b: read and write rights per participant
        return _DENIALS[Reason.CATEGORY_NOT_PERMITTED]
    if category == CRIMINAL and not kind.criminal_justice:  # art. 5
        return _DENIALS[Reason.CRIMINAL_DATA_RESTRICTED]
    if not read and _intake_before_informed(client, resource):
        return _DENIALS[Reason.CLIENT_NOT_INFORMED]
    if read and context.covenant.consents:
        missing = _consent_refusal(subject, resource, context)
        if missing is not None:
            return _DENIALS[missing]
    return permit


def _consent_refusal(subject: Subject, resource: Resource, context: Context) -> Reason | None:
    """An exchange the covenant makes depend on consent (``[consents.<code>]``): reading, in its
    categories, what a party on the other side wrote needs the client's consent to that exchange in force
    now; withdrawn, it is refused from that moment. A party's own entries are never an exchange."""
    for rule in context.covenant.consent_rules(subject.party, resource.source_party, resource.category):
        if rule.code not in resource.consents:
            return Reason.CONSENT_WITHDRAWN if rule.code in resource.withdrawn_consents else Reason.CONSENT_MISSING
    return None


def _decide_consent_record(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Consent to an exchange is given by the client to the client's own client manager, who records it
    (and its withdrawal) with the intake, while linked: the same rule as for the client's requests."""
    return _decide_request(subject, resource, context)


def _intake_before_informed(client: ClientFacts, resource: Resource) -> bool:
    """Art. 10: the client is informed of the processing (the purposes, the controller, the parties)
    before the intake; an intake-form section written before that moment is refused."""
    return resource.entry_kind == INTAKE and not client.informed


def _decide_inform(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Art. 10: the client's own client manager records that (when, how) the client was informed, as
    part of the intake they do; the same rule as for the client's requests: the one recorded for the
    client, while linked."""
    return _decide_request(subject, resource, context)


def _read_disclosed(permit: Decision, disclosure_id: str) -> Decision:
    """Art. 5: criminal data reaches a party outside the criminal-justice chain only with a public
    prosecutor's approval for that entry and that party; it then opens the entry to the party's staff
    who are linked to the client (a break-the-glass window does not stand in for the link here). The
    permit names the approval, so every such read is traceable to it in the trail."""
    if not permit.authority or not permit.authority.startswith("care_link:"):
        return _DENIALS[Reason.CRIMINAL_DATA_RESTRICTED]
    return Decision(True, Reason.PERMITTED, "disclosure:" + disclosure_id)


def _decide_disclosure(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Art. 5: criminal data "is not passed on without the consent of the public prosecutor". A staff
    member with the prosecutor role of a prosecution party approves (lists, revokes) the disclosure of
    one criminal entry (``resource.category``) to one party (``resource.recipient``). Only criminal
    entries need it, and only for parties outside the criminal-justice chain: those read it anyway."""
    if Role.PROSECUTOR not in subject.roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    kind = context.covenant.kind_of_party.get(subject.party)
    if kind is None:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    if kind.code != PROSECUTION:
        return _DENIALS[Reason.NOT_PROSECUTION]
    if resource.client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    if not resource.entry_found:
        return _DENIALS[Reason.ENTRY_UNKNOWN]
    if resource.category != CRIMINAL:
        return _DENIALS[Reason.NOT_CRIMINAL_DATA]
    if resource.recipient is not None:
        recipient = context.covenant.kind_of_party.get(resource.recipient)
        if recipient is None:
            return _DENIALS[Reason.RECIPIENT_UNKNOWN]
        if recipient.criminal_justice:
            return _DENIALS[Reason.DISCLOSURE_NOT_NEEDED]
    return _AS_PROSECUTOR


def _emergency_open(emergency: EmergencyFacts, context: Context) -> bool:
    """A break-the-glass window counts from ``since`` up to, not including, ``until``, and only while
    the covenant in force allows break-the-glass at all (switching it off closes open windows)."""
    return context.covenant.emergency.enabled and emergency.since <= context.now < emergency.until


def _permit_by_emergency(emergency_id: str) -> Decision:
    """A permit resting on a break-the-glass window: the authority names it, so the trail flags the read."""
    return Decision(True, Reason.PERMITTED, "emergency:" + emergency_id)


def _decide_emergency_open(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Break-the-glass (Instrument 2e's one exception, where the covenant makes it): a staff member of a
    covenant party who is not linked to the client opens the file for a short window, with a stated
    reason that a privacy officer reviews afterwards.

    Refused when the covenant does not allow it, and for a client whose processing a justified
    objection has stopped (art. 14: no window is opened on a file that stays closed). The linked
    need no window: their link already opens the file.
    """
    if context.covenant.kind_of_party.get(subject.party) is None:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    if not context.covenant.emergency.enabled:
        return _DENIALS[Reason.EMERGENCY_DISABLED]
    client = resource.client
    if client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    if _link_state(resource.link, context.now) is Reason.PERMITTED:
        return _DENIALS[Reason.ALREADY_LINKED]
    if client.processing_stopped:
        return _DENIALS[Reason.PROCESSING_STOPPED]
    return _permit_by_party(subject.party)


def _permit_by_party(party: str) -> Decision:
    """A permit resting on the subject's membership of a covenant party (art. 2)."""
    return Decision(True, Reason.PERMITTED, "party:" + party)


@functools.lru_cache(maxsize=65_536)
def _permit_by_link(link_id: str) -> Decision:
    """A permit resting on a care-team link; the same link permits the same way every time, so the
    decision is made once per link and reused (this is the hot path of every read)."""
    return Decision(True, Reason.PERMITTED, "care_link:" + link_id)


def _decide_client_read(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Instrument 2e: the client's summary and who is on the care team are for the officials involved
    with the client, while linked; and for the field directors, who keep the client register.

    The party is checked before the client, so that a staff member of no covenant party hears the
    same about an unknown client as about an existing one. Unlike the file, these stay readable
    after a justified objection (art. 14): the linked must learn why the file is refused, and the
    team must still be seen to be wound down.
    """
    client = resource.client
    if keeps_client_register(subject):
        return _AS_FIELD_DIRECTOR if client is not None else _DENIALS[Reason.CLIENT_UNKNOWN]
    if context.covenant.kind_of_party.get(subject.party) is None:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    if client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    link_state = _link_state(resource.link, context.now)
    if link_state is not Reason.PERMITTED:
        return _DENIALS[link_state]
    return _permit_by_link(resource.link.id)


def _decide_token(subject: Subject, context: Context) -> Decision:
    """Whether a token with ``subject.scopes`` may be issued to ``subject``.

    A token opens no file by itself (every use is decided again, with the link, the party's rights
    and a purpose), so issuing one states no purpose. The subject must belong to a party of the
    covenant in force (art. 2) and ask only for scopes its roles may carry: a partner system acting
    on its own only reports events; staff get their roles' scopes (see :mod:`covenant.scopes`).
    """
    if subject.party not in context.covenant.kind_of_party:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    if subject.scopes is None or not subject.scopes <= scopes_for(subject.roles):
        return _DENIALS[Reason.SCOPE_NOT_ALLOWED]
    return _permit_by_party(subject.party)


def _decide_event(subject: Subject, resource: Resource, context: Context) -> Decision:
    """A partner system reports what happened at its side (a contact: art. 9.3 counts the five years
    from the last one; a deletion at the source: its copy here goes too). Only a party that is or
    has been in the client's care team (``resource.link``: the party's latest link that has begun)
    reports about the client, and it changes only what the client's file says of its own party."""
    if Role.SYSTEM not in subject.roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if subject.party not in context.covenant.kind_of_party:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    if resource.client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    link = resource.link
    if link is None or context.now < link.since:
        return _DENIALS[Reason.NOT_LINKED]
    return Decision(True, Reason.PERMITTED, "party_link:" + link.id)


def _decide_token_management(subject: Subject, context: Context) -> Decision:
    """A partner system of a covenant party revokes (RFC 7009) or inspects (RFC 7662) tokens; which
    tokens (only its own) is for the authorization server to check, as those RFCs say."""
    if Role.SYSTEM not in subject.roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if subject.party not in context.covenant.kind_of_party:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    return _permit_by_party(subject.party)


def _decide_team(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Instrument 2: the client's own client manager grants partners access to the file (and ends it);
    the field directors, who assign clients to client managers, may too. Holding the client-manager
    role for other clients gives no say over this client's team.

    What does not depend on the client (the role) is checked before the client, and the link before
    who manages the client: whoever is not linked hears "not linked" about an existing client, as
    about one that does not exist.
    """
    client = resource.client
    if Role.FIELD_DIRECTOR in subject.roles:
        return _AS_FIELD_DIRECTOR if client is not None else _DENIALS[Reason.CLIENT_UNKNOWN]
    if Role.CLIENT_MANAGER not in subject.roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    link_state = _link_state(resource.link, context.now)
    if link_state is not Reason.PERMITTED:
        return _DENIALS[link_state]
    if subject.id is None or subject.id != client.manager:
        return _DENIALS[Reason.NOT_CLIENT_MANAGER]
    return _permit_by_link(resource.link.id)


def _decide_request(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Art. 11-14, Instrument 2: the client manager handles the client's requests on behalf of the
    controller; that is the client's own client manager (the one recorded for the client), while
    linked, not anyone holding the role.

    Processing stopped by a justified objection (art. 14) does not stop this: what the request
    itself needs goes on (deciding it, reversing it, closing it). The link is checked before who
    manages the client, as for the care team: the unlinked hear "not linked" about any client.
    """
    if Role.CLIENT_MANAGER not in subject.roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if context.covenant.kind_of_party.get(subject.party) is None:
        return _DENIALS[Reason.PARTY_UNKNOWN]
    client = resource.client
    if client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    link_state = _link_state(resource.link, context.now)
    if link_state is not Reason.PERMITTED:
        return _DENIALS[link_state]
    if subject.id is None or subject.id != client.manager:
        return _DENIALS[Reason.NOT_CLIENT_MANAGER]
    return _permit_by_link(resource.link.id)


def _decide_statistics(subject: Subject, resource: Resource, context: Context) -> Decision:
    """Art. 9.4-9.5: keeping data longer, for statistics only and stripped of identity, is "decided by
    the controller before the term ends". The controller is the party the covenant names (art. 7); its
    duties are done by the coordination point, whose staff are the field directors. So: a field director
    of the controller's party. (That the term has not ended is the service's check: it is a fact about
    the moment, answered 409, not a question of who.)"""
    if Role.FIELD_DIRECTOR not in subject.roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if subject.party != context.covenant.controller:
        return _DENIALS[Reason.NOT_CONTROLLER]
    if resource.client is None:
        return _DENIALS[Reason.CLIENT_UNKNOWN]
    return _AS_CONTROLLER


_REGISTER_ROLES = {Action.REGISTER_READ: frozenset({Role.PRIVACY_OFFICER, Role.FIELD_DIRECTOR}),
                   Action.REPORT_READ: frozenset({Role.FIELD_DIRECTOR}),
                   Action.STATISTICS_READ: frozenset({Role.FIELD_DIRECTOR})}


def _decide_accountability(subject: Subject, action: Action, context: Context) -> Decision:
    """Art. 15 (the processing register, GDPR art. 30), Instrument 2 (the monthly progress report to the
    coordination point) and art. 9.4-9.5 (the de-identified statistics extract): the controller accounts
    for the processing and keeps the statistics (art. 7). The register is for the controller's privacy
    officers and field directors, the report (aggregates) and the extract for its field directors, who are
    the coordination point; the local administrator exports the register and the report from the command
    line, not the extract (what is kept for statistics is the controller's, not the processor's). Staff
    of other parties are refused (``not_controller``): none of the three holds personal data, but all
    are the controller's to give."""
    if Role.ADMINISTRATOR in subject.roles and subject.id is None and action is not Action.STATISTICS_READ:
        return _AS_ADMINISTRATOR
    roles = subject.roles & _REGISTER_ROLES[action]
    if not roles:
        return _DENIALS[Reason.ROLE_REQUIRED]
    if subject.party != context.covenant.controller:
        return _DENIALS[Reason.NOT_CONTROLLER]
    return Decision(True, Reason.PERMITTED, "controller:" + min(roles))


def keeps_client_register(subject: Subject) -> bool:
    """The field directors (coordination point) register clients, assign them to client managers and
    keep the central client register (Instrument 6): they see every client in it."""
    return Role.FIELD_DIRECTOR in subject.roles


def may_know_client_exists(subject: Subject) -> bool:
    """Whether a refusal may say that a client does not exist (404) rather than refuse (403).

    Only the field directors, who keep the central client register (Instrument 6), learn from the
    gateway whether a client exists; to everyone else an unknown client looks like one they are
    not linked to.
    """
    return keeps_client_register(subject)
