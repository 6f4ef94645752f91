"""The access decision, rule by rule and in combination, on the demo region covenant."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policies
from covenant import (
    Action,
    ClientFacts,
    Context,
    Covenant,
    CovenantError,
    Decision,
    Emergency,
    EmergencyFacts,
    LinkFacts,
    Reason,
    Resource,
    Role,
    Subject,
    load_covenant,
    may_know_client_exists,
    parse_covenant,
)
from tests.covenant.decisions import decide
from tests.covenant.documents import model_document, region_document


NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)

REGION = load_covenant(policies.DEMO_REGION)
SHELTER = "opvang-de-haven"
GGZ = "ggz-rivierland"
POLICE = "politie-eenheid-demo"
MUNICIPALITY = "gemeente-demostad"
HOUSING = "woonstad-demo"


def _with_housing() -> dict[str, Any]:
    # The demo region has no housing corporation; the matrix needs one (art. 8.1b: ordinary data only).
    document = region_document()
    document["parties"][HOUSING] = {"name": "Woonstad Demo", "kind": "housing"}
    return document


REGION_WITH_HOUSING = parse_covenant(_with_housing(), source="region-with-housing.toml")


def _without_purpose_roles() -> Covenant:
    # Every purpose open to every role, so the action's own role rule can be reached on its own.
    document = region_document()
    for purpose in document["purposes"].values():
        purpose.pop("roles", None)
    return parse_covenant(document, source="open-purposes.toml")


OPEN_PURPOSES = _without_purpose_roles()

CLIENT = ClientFacts("client-1")
STOPPED = ClientFacts("client-1", processing_stopped=True)
MANAGED = ClientFacts("client-1", manager="staff-1")  # staff() makes subjects with id "staff-1"
LINK = LinkFacts("link-7", since=NOW - dt.timedelta(days=30))
ALL_SCOPES = frozenset({"records:read", "records:write", "audit:read", "team:manage"})


def staff(party: str | None = SHELTER, *roles: Role, active: bool = True,
          scopes: frozenset[str] | None = None) -> Subject:
    return Subject(id="staff-1", party=party, roles=frozenset(roles or {Role.STAFF}), active=active,
                   scopes=scopes)


def ask(subject: Subject, action: Action, *, client: ClientFacts | None = CLIENT,
        category: str | None = "ordinary", entry_found: bool = True, purpose: str = "wellbeing",
        link: LinkFacts | None = LINK, now: dt.datetime = NOW, covenant: Covenant = REGION,
        demo_mode: bool = False) -> Decision:
    return decide(subject, action,
                  Resource(client=client, category=category, entry_found=entry_found, link=link),
                  Context(covenant=covenant, purpose=purpose, now=now, demo_mode=demo_mode))


def refused(reason: Reason) -> Decision:
    return Decision(False, reason, None)


PERMITTED_BY_LINK = Decision(True, Reason.PERMITTED, "care_link:link-7")
DAY = dt.timedelta(days=1)
READ_AND_WRITE = [pytest.param(Action.RECORD_READ, id="read"), pytest.param(Action.RECORD_WRITE, id="write")]


# --- records: link, client, entry, category ---------------------------------------------------------

RECORD_CASES = [
    pytest.param({}, PERMITTED_BY_LINK, id="active-link-permits"),
    pytest.param({"link": None}, refused(Reason.NOT_LINKED), id="no-link"),
    # Instrument 2e: access only while linked; a link counts from since up to, not including, until.
    pytest.param({"link": LinkFacts("link-7", since=NOW + MICROSECOND)}, refused(Reason.LINK_NOT_STARTED),
                 id="link-not-yet-started"),
    pytest.param({"link": LinkFacts("link-7", since=NOW)}, PERMITTED_BY_LINK, id="link-starts-now"),
    pytest.param({"link": LinkFacts("link-7", since=NOW - DAY, until=NOW)},
                 refused(Reason.LINK_ENDED), id="link-ends-now"),
    pytest.param({"link": LinkFacts("link-7", since=NOW - DAY, until=NOW), "now": NOW - MICROSECOND},
                 PERMITTED_BY_LINK, id="link-one-microsecond-before-end"),
    pytest.param({"link": LinkFacts("link-7", since=NOW - 9 * DAY, until=NOW - 2 * DAY)},
                 refused(Reason.LINK_ENDED), id="link-ended-before"),
    pytest.param({"link": LinkFacts("link-7", since=NOW, until=NOW)}, refused(Reason.LINK_ENDED),
                 id="link-empty"),
    pytest.param({"link": LinkFacts("link-9", since=NOW - DAY, until=NOW + DAY)},
                 Decision(True, Reason.PERMITTED, "care_link:link-9"), id="authority-names-the-link"),
    pytest.param({"client": None}, refused(Reason.CLIENT_UNKNOWN), id="client-unknown"),
    pytest.param({"client": None, "link": None}, refused(Reason.CLIENT_UNKNOWN),
                 id="client-unknown-unlinked"),
    # Art. 14: a justified objection stops processing, but only the linked learn of it.
    pytest.param({"client": STOPPED}, refused(Reason.PROCESSING_STOPPED), id="processing-stopped"),
    pytest.param({"client": STOPPED, "link": None}, refused(Reason.NOT_LINKED),
                 id="processing-stopped-unlinked"),
    pytest.param({"client": STOPPED, "link": LinkFacts("link-7", since=NOW + MICROSECOND)},
                 refused(Reason.LINK_NOT_STARTED), id="processing-stopped-link-not-started"),
    pytest.param({"client": STOPPED, "link": LinkFacts("link-7", since=NOW - 2 * DAY, until=NOW)},
                 refused(Reason.LINK_ENDED), id="processing-stopped-link-ended"),
    pytest.param({"client": STOPPED, "entry_found": False, "category": "secret"},
                 refused(Reason.PROCESSING_STOPPED), id="processing-stopped-before-entry-and-category"),
    pytest.param({"entry_found": False}, refused(Reason.ENTRY_UNKNOWN), id="entry-unknown"),
    pytest.param({"entry_found": False, "link": None}, refused(Reason.NOT_LINKED),
                 id="entry-unknown-unlinked"),
    pytest.param({"entry_found": False, "category": "secret"}, refused(Reason.ENTRY_UNKNOWN),
                 id="entry-unknown-before-category"),
    pytest.param({"category": "secret"}, refused(Reason.CATEGORY_UNKNOWN), id="category-unknown"),
    pytest.param({"category": None}, refused(Reason.CATEGORY_UNKNOWN), id="category-none"),
    pytest.param({"category": "secret", "link": None}, refused(Reason.NOT_LINKED),
                 id="category-unknown-unlinked"),
    pytest.param({"category": "criminal"}, refused(Reason.CATEGORY_NOT_PERMITTED), id="shelter-criminal"),
]


@pytest.mark.parametrize("action", READ_AND_WRITE)
@pytest.mark.parametrize(("facts", "expected"), RECORD_CASES)
def test_record_rules(action: Action, facts: dict[str, Any], expected: Decision) -> None:
    assert ask(staff(SHELTER), action, **facts) == expected


@pytest.mark.parametrize("action", READ_AND_WRITE)
@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param(staff("unknown-party"), refused(Reason.PARTY_UNKNOWN), id="party-not-in-covenant"),
    pytest.param(staff("shelter"), refused(Reason.PARTY_UNKNOWN), id="model-placeholder-party"),
    pytest.param(staff(None), refused(Reason.PARTY_UNKNOWN), id="no-party"),
    pytest.param(Subject.administrator(), refused(Reason.PARTY_UNKNOWN), id="administrator"),
])
def test_only_parties_of_the_covenant_reach_records(action: Action, subject: Subject,
                                                    expected: Decision) -> None:
    assert ask(subject, action) == expected


@pytest.mark.parametrize("action", READ_AND_WRITE)
def test_an_inactive_staff_member_is_refused_before_anything_else(action: Action) -> None:
    subject = staff("unknown-party", Role.STAFF, active=False, scopes=frozenset())
    decision = ask(subject, action, client=None, purpose="marketing", link=None, category="secret",
                   entry_found=False)

    assert decision == refused(Reason.STAFF_INACTIVE)
    assert ask(staff(SHELTER, active=False), action) == refused(Reason.STAFF_INACTIVE)


# --- the matrix (art. 8.1b) and criminal data (art. 5) ----------------------------------------------

# Written out from policies/model-covenant.toml, not read from the loaded covenant.
RIGHTS = {
    SHELTER: {"read": {"ordinary", "special"}, "write": {"ordinary", "special"}},
    GGZ: {"read": {"ordinary", "special"}, "write": {"ordinary", "special"}},
    POLICE: {"read": {"ordinary", "criminal"}, "write": {"ordinary", "criminal"}},
    MUNICIPALITY: {"read": {"ordinary", "special"}, "write": {"ordinary", "special"}},
    HOUSING: {"read": {"ordinary"}, "write": {"ordinary"}},
}
MATRIX = [
    pytest.param(party, right, category, category in rights[right], id=f"{party}-{right}-{category}")
    for party, rights in RIGHTS.items()
    for right in ("read", "write")
    for category in ("ordinary", "special", "criminal")
]


@pytest.mark.parametrize(("party", "right", "category", "granted"), MATRIX)
def test_the_matrix_of_rights_per_party_kind(party: str, right: str, category: str, granted: bool) -> None:
    action = Action.RECORD_READ if right == "read" else Action.RECORD_WRITE
    expected = PERMITTED_BY_LINK if granted else refused(Reason.CATEGORY_NOT_PERMITTED)

    assert ask(staff(party), action, category=category, covenant=REGION_WITH_HOUSING) == expected


def test_a_prison_reads_special_data_but_does_not_write_it() -> None:
    document = model_document()
    document["parties"] = {"pi-demo": {"name": "PI Demo", "kind": "prison"}}
    document["covenant"]["controller"] = "pi-demo"
    covenant = parse_covenant(document)

    read = ask(staff("pi-demo"), Action.RECORD_READ, category="special", covenant=covenant)
    write = ask(staff("pi-demo"), Action.RECORD_WRITE, category="special", covenant=covenant)

    assert (read, write) == (PERMITTED_BY_LINK, refused(Reason.CATEGORY_NOT_PERMITTED))


NOT_CRIMINAL_JUSTICE = [code for code, kind in model_document()["party_kinds"].items()
                        if not kind["criminal_justice"]]


@pytest.mark.parametrize("right", ["read", "write"])
@pytest.mark.parametrize("kind", NOT_CRIMINAL_JUSTICE)
def test_no_covenant_grants_criminal_data_to_a_party_outside_criminal_justice(kind: str, right: str) -> None:
    """Art. 5: criminal data stays with the criminal-justice parties; the loader refuses it to others."""
    document = model_document()
    document["party_kinds"][kind][right].append("criminal")

    with pytest.raises(CovenantError) as caught:
        parse_covenant(document, source="x.toml")

    assert caught.value.place == f"party_kinds.{kind}.{right}"


def test_criminal_data_follows_the_criminal_justice_flag_not_the_kind_name() -> None:
    # A region where probation (criminal justice) reads criminal data and the police, still criminal
    # justice, does not: the matrix decides among criminal-justice parties.
    document = region_document()
    document["parties"]["reclassering-demo"] = {"name": "Reclassering Demo", "kind": "probation"}
    document["party_kinds"]["police"]["read"] = ["ordinary"]
    covenant = parse_covenant(document)

    assert ask(staff("reclassering-demo"), Action.RECORD_READ, category="criminal", covenant=covenant) == (
        PERMITTED_BY_LINK)
    assert ask(staff(POLICE), Action.RECORD_READ, category="criminal", covenant=covenant) == refused(
        Reason.CATEGORY_NOT_PERMITTED)


@pytest.mark.parametrize("action", READ_AND_WRITE)
def test_criminal_data_stays_in_criminal_justice_even_if_the_matrix_grants_it(action: Action) -> None:
    """Art. 5 on its own: decide does not rely on the loader alone to keep criminal data where it is."""
    shelter = REGION.party_kinds["shelter"]
    granted = dataclasses.replace(shelter, read=shelter.read | {"criminal"},
                                  write=shelter.write | {"criminal"})
    covenant = dataclasses.replace(REGION, party_kinds={**REGION.party_kinds, "shelter": granted})

    assert ask(staff(SHELTER), action, category="criminal", covenant=covenant) == refused(
        Reason.CRIMINAL_DATA_RESTRICTED)
    assert ask(staff(SHELTER), action, category="special", covenant=covenant) == PERMITTED_BY_LINK
    assert ask(staff(POLICE), action, category="criminal", covenant=covenant) == PERMITTED_BY_LINK


# --- purposes (art. 4) ------------------------------------------------------------------------------

PURPOSE_CASES = [
    pytest.param(staff(), Action.RECORD_READ, "marketing", refused(Reason.PURPOSE_UNKNOWN),
                 id="unknown-read"),
    pytest.param(staff(), Action.RECORD_WRITE, "", refused(Reason.PURPOSE_UNKNOWN), id="empty-write"),
    pytest.param(staff(), Action.RECORD_READ, "Wellbeing", refused(Reason.PURPOSE_UNKNOWN),
                 id="case-matters"),
    pytest.param(staff(SHELTER, Role.FIELD_DIRECTOR), Action.RECORD_READ, "statistics",
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="statistics-read"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), Action.RECORD_WRITE, "oversight",
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="oversight-write"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), Action.RECORD_WRITE, "subject_rights",
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="subject-rights-write"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), Action.RECORD_READ, "case_management",
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="case-management-read"),
    pytest.param(staff(), Action.RECORD_READ, "subject_rights", refused(Reason.ROLE_NOT_FOR_PURPOSE),
                 id="subject-rights-by-staff"),
    pytest.param(staff(SHELTER, Role.PROSECUTOR), Action.RECORD_READ, "subject_rights",
                 refused(Reason.ROLE_NOT_FOR_PURPOSE), id="subject-rights-by-prosecutor"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), Action.RECORD_READ, "subject_rights", PERMITTED_BY_LINK,
                 id="subject-rights-by-client-manager"),
    pytest.param(staff(SHELTER, Role.STAFF, Role.PRIVACY_OFFICER), Action.RECORD_READ, "subject_rights",
                 PERMITTED_BY_LINK, id="subject-rights-one-role-suffices"),
    pytest.param(staff(), Action.RECORD_WRITE, "housing", PERMITTED_BY_LINK, id="housing-write"),
    pytest.param(staff(), Action.RECORD_READ, "nuisance_reduction", PERMITTED_BY_LINK, id="nuisance-read"),
    pytest.param(staff(), Action.RECORD_READ, "income", PERMITTED_BY_LINK, id="income-read"),
]


@pytest.mark.parametrize(("subject", "action", "purpose", "expected"), PURPOSE_CASES)
def test_purpose_binding(subject: Subject, action: Action, purpose: str, expected: Decision) -> None:
    assert ask(subject, action, purpose=purpose) == expected


@pytest.mark.parametrize("action", READ_AND_WRITE)
def test_the_purpose_is_checked_before_the_record(action: Action) -> None:
    decision = ask(staff("unknown-party"), action, purpose="marketing", client=None, link=None)

    assert decision == refused(Reason.PURPOSE_UNKNOWN)


# --- scopes -----------------------------------------------------------------------------------------

AS_PRIVACY_OFFICER = Decision(True, Reason.PERMITTED, "role:privacy_officer")
AS_FIELD_DIRECTOR = Decision(True, Reason.PERMITTED, "role:field_director")
AS_CLIENT_MANAGER = Decision(True, Reason.PERMITTED, "role:client_manager")

SCOPE_CASES = [
    pytest.param(staff(scopes=frozenset({"records:write"})), Action.RECORD_READ, "wellbeing",
                 refused(Reason.SCOPE_MISSING), id="read-without-records-read"),
    pytest.param(staff(scopes=frozenset({"records:read"})), Action.RECORD_READ, "wellbeing",
                 PERMITTED_BY_LINK, id="read-with-records-read"),
    pytest.param(staff(scopes=frozenset({"records:read"})), Action.RECORD_WRITE, "wellbeing",
                 refused(Reason.SCOPE_MISSING), id="write-without-records-write"),
    pytest.param(staff(scopes=frozenset({"records:write"})), Action.RECORD_WRITE, "wellbeing",
                 PERMITTED_BY_LINK, id="write-with-records-write"),
    pytest.param(staff(scopes=frozenset()), Action.RECORD_READ, "wellbeing", refused(Reason.SCOPE_MISSING),
                 id="token-without-scopes"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER, scopes=frozenset({"records:read"})), Action.AUDIT_READ,
                 "oversight", refused(Reason.SCOPE_MISSING), id="audit-without-audit-read"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER, scopes=frozenset({"audit:read"})), Action.AUDIT_READ,
                 "oversight", AS_PRIVACY_OFFICER, id="audit-with-audit-read"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=ALL_SCOPES - {"team:manage"}),
                 Action.CLIENT_REGISTER, "case_management", refused(Reason.SCOPE_MISSING),
                 id="register-without-team-manage"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"team:manage"})),
                 Action.CLIENT_REGISTER, "case_management", AS_FIELD_DIRECTOR,
                 id="register-with-team-manage"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"records:read", "audit:read"})),
                 Action.LINK_GRANT, "case_management", refused(Reason.SCOPE_MISSING),
                 id="grant-without-team-manage"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"audit:read"})),
                 Action.LINK_END, "case_management", refused(Reason.SCOPE_MISSING),
                 id="end-without-team-manage"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"team:manage"})),
                 Action.LINK_END, "case_management", AS_FIELD_DIRECTOR, id="end-with-team-manage"),
    # The scope is checked before the purpose and the record.
    pytest.param(staff("unknown-party", scopes=frozenset()), Action.RECORD_WRITE, "marketing",
                 refused(Reason.SCOPE_MISSING), id="scope-before-purpose"),
]


@pytest.mark.parametrize(("subject", "action", "purpose", "expected"), SCOPE_CASES)
def test_scopes(subject: Subject, action: Action, purpose: str, expected: Decision) -> None:
    assert ask(subject, action, purpose=purpose) == expected


# --- the gateway's administration (art. 3, 8.2) ----------------------------------------------------

ADMINISTRATION = [Action.TOKEN_ISSUE, Action.KEYS_ROTATE, Action.AUDIT_VERIFY, Action.DEMO_SEED,
                  Action.SERVICE_START, Action.JOB_RUN, Action.JOB_LIST]
ADMINISTRATION_IDS = [str(action) for action in ADMINISTRATION]
TOKEN_ADMINISTRATOR = Subject(id=None, party=None, roles=frozenset({Role.ADMINISTRATOR}), scopes=ALL_SCOPES)


@pytest.mark.parametrize("action", ADMINISTRATION, ids=ADMINISTRATION_IDS)
def test_administration_is_never_done_by_token(action: Action) -> None:
    assert ask(TOKEN_ADMINISTRATOR, action, purpose="covenant_administration", demo_mode=True) == refused(
        Reason.ROLE_REQUIRED)
    assert ask(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=ALL_SCOPES), action,
               purpose="covenant_administration", demo_mode=True) == refused(Reason.ROLE_REQUIRED)


@pytest.mark.parametrize("action", ADMINISTRATION, ids=ADMINISTRATION_IDS)
def test_the_local_administrator_administers(action: Action) -> None:
    decision = ask(Subject.administrator(), action, purpose="covenant_administration", demo_mode=True)

    assert decision == Decision(True, Reason.PERMITTED, "role:administrator")


def test_a_staff_member_holding_the_administrator_role_is_still_no_administrator() -> None:
    # The beheerder of art. 3 is the local operator, not a party's staff member.
    subject = Subject(id="staff-1", party=SHELTER, roles=frozenset({Role.ADMINISTRATOR}))
    assert ask(subject, Action.KEYS_ROTATE, purpose="covenant_administration") == refused(Reason.ROLE_REQUIRED)


def test_demo_data_is_seeded_only_in_demo_mode() -> None:
    assert ask(Subject.administrator(), Action.DEMO_SEED, purpose="covenant_administration") == refused(
        Reason.NOT_DEMO_MODE)
    assert ask(Subject.administrator(), Action.SERVICE_START, purpose="covenant_administration") == Decision(
        True, Reason.PERMITTED, "role:administrator")


@pytest.mark.parametrize(("subject", "purpose", "covenant", "expected"), [
    pytest.param(Subject.administrator(), "wellbeing", REGION, refused(Reason.PURPOSE_NOT_FOR_ACTION),
                 id="administrator-wrong-purpose"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), "covenant_administration", REGION,
                 refused(Reason.ROLE_NOT_FOR_PURPOSE), id="field-director-states-administration"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), "covenant_administration", OPEN_PURPOSES,
                 refused(Reason.ROLE_REQUIRED), id="field-director-open-purpose"),
    pytest.param(staff(SHELTER, *[role for role in Role if role is not Role.ADMINISTRATOR]),
                 "covenant_administration", OPEN_PURPOSES, refused(Reason.ROLE_REQUIRED),
                 id="every-staff-role"),
])
def test_administration_needs_the_administrator(subject: Subject, purpose: str, covenant: Covenant,
                                                expected: Decision) -> None:
    assert ask(subject, Action.TOKEN_ISSUE, purpose=purpose, covenant=covenant) == expected


@pytest.mark.parametrize(("purpose", "covenant", "expected"), [
    pytest.param("covenant_administration", REGION, refused(Reason.PURPOSE_NOT_FOR_ACTION),
                 id="administration"),
    pytest.param("oversight", REGION, refused(Reason.ROLE_NOT_FOR_PURPOSE), id="oversight"),
    pytest.param("oversight", OPEN_PURPOSES, refused(Reason.ROLE_REQUIRED), id="oversight-open-purpose"),
])
def test_the_administrator_does_not_read_the_audit_trail(purpose: str, covenant: Covenant,
                                                         expected: Decision) -> None:
    assert ask(Subject.administrator(), Action.AUDIT_READ, purpose=purpose, covenant=covenant) == expected


# --- the audit trail, the care team and the register ----------------------------------------------


@pytest.mark.parametrize(("subject", "purpose", "covenant", "expected"), [
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), "oversight", REGION, AS_PRIVACY_OFFICER,
                 id="oversight"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), "subject_rights", REGION, AS_PRIVACY_OFFICER,
                 id="subject-rights"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), "wellbeing", REGION,
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="wellbeing"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), "subject_rights", REGION,
                 refused(Reason.ROLE_REQUIRED), id="field-director"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), "subject_rights", REGION, refused(Reason.ROLE_REQUIRED),
                 id="client-manager"),
    pytest.param(staff(SHELTER), "oversight", REGION, refused(Reason.ROLE_NOT_FOR_PURPOSE), id="staff"),
    pytest.param(staff(SHELTER, Role.PROSECUTOR), "oversight", OPEN_PURPOSES, refused(Reason.ROLE_REQUIRED),
                 id="prosecutor-open-purpose"),
])
def test_only_privacy_officers_read_the_audit_trail(subject: Subject, purpose: str, covenant: Covenant,
                                                    expected: Decision) -> None:
    assert ask(subject, Action.AUDIT_READ, purpose=purpose, covenant=covenant) == expected


TEAM_CASES = [
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"link": None}, AS_FIELD_DIRECTOR,
                 id="field-director-unlinked"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"client": STOPPED, "link": None},
                 AS_FIELD_DIRECTOR, id="field-director-stopped-client"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"client": None}, refused(Reason.CLIENT_UNKNOWN),
                 id="field-director-client-unknown"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, Role.CLIENT_MANAGER), {"link": None},
                 AS_FIELD_DIRECTOR, id="field-director-and-client-manager"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"client": MANAGED}, PERMITTED_BY_LINK,
                 id="client-manager-linked"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"client": MANAGED, "link": None},
                 refused(Reason.NOT_LINKED), id="client-manager-unlinked"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER),
                 {"client": MANAGED, "link": LinkFacts("link-7", since=NOW + MICROSECOND)},
                 refused(Reason.LINK_NOT_STARTED), id="client-manager-link-not-started"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER),
                 {"client": MANAGED, "link": LinkFacts("link-7", since=NOW - 3 * DAY, until=NOW)},
                 refused(Reason.LINK_ENDED), id="client-manager-link-ended"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"client": None}, refused(Reason.CLIENT_UNKNOWN),
                 id="client-manager-client-unknown"),
    # Instrument 2: one client manager per client. A partner who manages other clients and is linked to
    # this one as a partner has no say over this client's care team.
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {}, refused(Reason.NOT_CLIENT_MANAGER),
                 id="linked-client-manager-of-other-clients"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"client": ClientFacts("client-1", manager="staff-2")},
                 refused(Reason.NOT_CLIENT_MANAGER), id="another-client-manager"),
    # Not linked: told so, as about a client that does not exist, not that someone else manages it.
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER),
                 {"client": ClientFacts("client-1", manager="staff-2"), "link": None},
                 refused(Reason.NOT_LINKED), id="another-client-manager-unlinked"),
    pytest.param(staff(SHELTER), {}, refused(Reason.ROLE_NOT_FOR_PURPOSE), id="staff"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), {}, refused(Reason.ROLE_NOT_FOR_PURPOSE),
                 id="privacy-officer"),
    pytest.param(staff(SHELTER), {"covenant": OPEN_PURPOSES}, refused(Reason.ROLE_REQUIRED),
                 id="staff-open-purpose"),
    pytest.param(staff(POLICE, Role.PROSECUTOR, Role.PRIVACY_OFFICER), {"covenant": OPEN_PURPOSES},
                 refused(Reason.ROLE_REQUIRED), id="prosecutor-open-purpose"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"client": MANAGED, "purpose": "wellbeing"},
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="wrong-purpose"),
]


@pytest.mark.parametrize("action", [pytest.param(Action.LINK_GRANT, id="grant"),
                                    pytest.param(Action.LINK_END, id="end")])
@pytest.mark.parametrize(("subject", "facts", "expected"), TEAM_CASES)
def test_the_care_team_is_managed_by_a_field_director_or_the_clients_own_linked_client_manager(
        action: Action, subject: Subject, facts: dict[str, Any], expected: Decision) -> None:
    assert ask(subject, action, **{"purpose": "case_management", **facts}) == expected


@pytest.mark.parametrize(("subject", "covenant", "expected"), [
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), REGION, AS_FIELD_DIRECTOR, id="field-director"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), REGION, AS_CLIENT_MANAGER, id="client-manager"),
    pytest.param(staff(MUNICIPALITY, Role.CLIENT_MANAGER, Role.FIELD_DIRECTOR), REGION, AS_FIELD_DIRECTOR,
                 id="both"),
    pytest.param(staff(SHELTER), REGION, refused(Reason.ROLE_NOT_FOR_PURPOSE), id="staff"),
    pytest.param(staff(SHELTER), OPEN_PURPOSES, refused(Reason.ROLE_REQUIRED), id="staff-open-purpose"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), OPEN_PURPOSES, refused(Reason.ROLE_REQUIRED),
                 id="privacy-officer-open-purpose"),
])
def test_clients_are_registered_by_client_managers_and_field_directors(subject: Subject, covenant: Covenant,
                                                                        expected: Decision) -> None:
    assert ask(subject, Action.CLIENT_REGISTER, purpose="case_management", client=None, link=None,
               covenant=covenant) == expected


@pytest.mark.parametrize(("subject", "knows"), [
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), True, id="field-director"),
    pytest.param(staff(MUNICIPALITY, Role.STAFF, Role.FIELD_DIRECTOR), True, id="field-director-and-staff"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), False, id="client-manager"),
    pytest.param(staff(SHELTER, Role.PRIVACY_OFFICER), False, id="privacy-officer"),
    pytest.param(staff(POLICE, Role.PROSECUTOR), False, id="prosecutor"),
    pytest.param(staff(SHELTER), False, id="staff"),
    pytest.param(Subject.administrator(), False, id="administrator"),
])
def test_only_field_directors_learn_whether_a_client_exists(subject: Subject, knows: bool) -> None:
    """Instrument 6: field directors keep the client register; to others an unknown client is unlinked."""
    assert may_know_client_exists(subject) is knows


# --- a client's summary, its care team, and the list of clients -------------------------------------

CLIENT_READS = [pytest.param(Action.CLIENT_READ, id="client"), pytest.param(Action.TEAM_READ, id="team")]
BY_OWN_LINKS = Decision(True, Reason.PERMITTED, "care_links:own")

CLIENT_READ_CASES = [
    pytest.param(staff(GGZ), {}, PERMITTED_BY_LINK, id="linked-staff"),
    pytest.param(staff(GGZ), {"link": None}, refused(Reason.NOT_LINKED), id="unlinked-staff"),
    pytest.param(staff(GGZ), {"link": LinkFacts("link-7", since=NOW - DAY, until=NOW)}, refused(Reason.LINK_ENDED),
                 id="link-ends-now"),
    pytest.param(staff(GGZ), {"link": LinkFacts("link-7", since=NOW + MICROSECOND)},
                 refused(Reason.LINK_NOT_STARTED), id="link-not-started"),
    pytest.param(staff(GGZ), {"client": None}, refused(Reason.CLIENT_UNKNOWN), id="client-unknown"),
    # Art. 14 stops processing of the file; the linked still see the client and the team, to wind it down.
    pytest.param(staff(GGZ), {"client": STOPPED}, PERMITTED_BY_LINK, id="processing-stopped-linked"),
    pytest.param(staff(GGZ), {"client": STOPPED, "link": None}, refused(Reason.NOT_LINKED),
                 id="processing-stopped-unlinked"),
    # Not by the party's read matrix: every kind of party may see who is on the team (housing reads ordinary only).
    pytest.param(staff(HOUSING), {"covenant": REGION_WITH_HOUSING}, PERMITTED_BY_LINK, id="housing-corporation"),
    pytest.param(staff("unknown-party"), {}, refused(Reason.PARTY_UNKNOWN), id="party-unknown"),
    pytest.param(staff("unknown-party"), {"client": None}, refused(Reason.PARTY_UNKNOWN),
                 id="party-unknown-client-unknown"),
    pytest.param(Subject.administrator(), {}, refused(Reason.PARTY_UNKNOWN), id="administrator"),
    # Instrument 6: the field directors keep the register and see every client in it, linked or not.
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"link": None}, AS_FIELD_DIRECTOR,
                 id="field-director-unlinked"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"client": None}, refused(Reason.CLIENT_UNKNOWN),
                 id="field-director-client-unknown"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"link": None}, refused(Reason.NOT_LINKED),
                 id="client-manager-unlinked"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"purpose": "case_management"}, PERMITTED_BY_LINK,
                 id="client-manager-case-management"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {"purpose": "subject_rights"}, PERMITTED_BY_LINK,
                 id="client-manager-subject-rights"),
    pytest.param(staff(GGZ), {"purpose": "case_management"}, refused(Reason.ROLE_NOT_FOR_PURPOSE),
                 id="staff-case-management"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"purpose": "statistics"},
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="statistics"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), {"purpose": "oversight"},
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="oversight"),
    pytest.param(staff(GGZ, scopes=frozenset({"records:read"})), {}, PERMITTED_BY_LINK, id="records-read-scope"),
    pytest.param(staff(GGZ, scopes=frozenset({"records:write", "team:manage"})), {},
                 refused(Reason.SCOPE_MISSING), id="without-records-read-scope"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"team:manage"})), {},
                 refused(Reason.SCOPE_MISSING), id="field-director-without-records-read-scope"),
]


@pytest.mark.parametrize("action", CLIENT_READS)
@pytest.mark.parametrize(("subject", "facts", "expected"), CLIENT_READ_CASES)
def test_a_clients_summary_and_team_are_for_the_linked_and_the_field_directors(
        action: Action, subject: Subject, facts: dict[str, Any], expected: Decision) -> None:
    """Instrument 2e: only the officials involved with the client; Instrument 6: the register's keepers."""
    assert ask(subject, action, **{"category": None, **facts}) == expected


@pytest.mark.parametrize(("subject", "purpose", "expected"), [
    pytest.param(staff(POLICE), "nuisance_reduction", BY_OWN_LINKS, id="staff"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), "case_management", BY_OWN_LINKS, id="client-manager"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), "subject_rights", BY_OWN_LINKS, id="privacy-officer"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), "case_management", AS_FIELD_DIRECTOR,
                 id="field-director"),
    pytest.param(staff("unknown-party"), "wellbeing", refused(Reason.PARTY_UNKNOWN), id="party-unknown"),
    pytest.param(staff(POLICE), "case_management", refused(Reason.ROLE_NOT_FOR_PURPOSE), id="staff-case-management"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), "statistics", refused(Reason.PURPOSE_NOT_FOR_ACTION),
                 id="statistics"),
    pytest.param(staff(POLICE, scopes=frozenset({"records:write"})), "wellbeing", refused(Reason.SCOPE_MISSING),
                 id="without-records-read-scope"),
    pytest.param(Subject.administrator(), "covenant_administration", refused(Reason.PURPOSE_NOT_FOR_ACTION),
                 id="administrator"),
])
def test_staff_list_the_clients_they_are_linked_to_and_field_directors_the_register(
        subject: Subject, purpose: str, expected: Decision) -> None:
    """The decision says whose clients are listed; the gateway's query lists only those."""
    assert ask(subject, Action.CLIENT_LIST, client=None, link=None, category=None, purpose=purpose) == expected


def test_whoever_is_not_linked_hears_the_same_about_an_unknown_client_as_about_an_existing_one() -> None:
    """Only field directors may learn whether a client exists: for everyone else, every client-scoped
    action is refused alike for a client that does not exist and for one they are not linked to."""
    unlinked = {Reason.CLIENT_UNKNOWN, Reason.NOT_LINKED, Reason.LINK_NOT_STARTED, Reason.LINK_ENDED}

    def answer(decision: Decision) -> str:
        return "not_linked" if decision.reason in unlinked else decision.reason.value

    actions = [Action.RECORD_READ, Action.RECORD_WRITE, Action.CLIENT_READ, Action.TEAM_READ, Action.LINK_GRANT,
               Action.LINK_END]
    clients = [CLIENT, STOPPED, MANAGED, ClientFacts("client-1", manager="staff-2")]
    links = [None, LinkFacts("link-7", since=NOW - 2 * DAY, until=NOW - DAY),
             LinkFacts("link-7", since=NOW + DAY)]
    compared = 0
    for roles in ROLE_SETS:
        if not roles or Role.FIELD_DIRECTOR in roles:
            continue
        for party, scopes, covenant in itertools.product([SHELTER, POLICE, "unknown-party", None],
                                                         [None, ALL_SCOPES, frozenset({"records:read"})],
                                                         [REGION, OPEN_PURPOSES]):
            subject = Subject(id="staff-1", party=party, roles=roles, scopes=scopes)
            for action, purpose in itertools.product(actions, covenant.purposes):
                unknown = answer(ask(subject, action, client=None, link=None, purpose=purpose, covenant=covenant))
                for client, link in itertools.product(clients, links):
                    existing = ask(subject, action, client=client, link=link, purpose=purpose, covenant=covenant)
                    assert answer(existing) == unknown, (subject, action, purpose, client, link)
                    compared += 1
    assert compared > 10_000


# --- property: decide agrees with the rules written out plainly ------------------------------------

# The oracle reads its facts from the document (TOML), not from the loaded covenant.
DOCUMENT = _with_housing()
KIND_OF_PARTY = {code: party["kind"] for code, party in DOCUMENT["parties"].items()}
KINDS = DOCUMENT["party_kinds"]
PURPOSES = DOCUMENT["purposes"]
CATEGORIES = set(DOCUMENT["categories"])
SCOPE_FOR = {"record.read": "records:read", "record.write": "records:write"}
RIGHT_FOR = {"record.read": "read", "record.write": "write"}


def oracle(subject: Subject, action: str, client: ClientFacts | None, category: str | None, entry_found: bool,
           purpose: str, link: LinkFacts | None, now: dt.datetime,
           emergency: EmergencyFacts | None = None) -> tuple[bool, str, str | None]:
    """The record rules in the order the decide module and COVENANT.md state them."""
    def no(reason: str) -> tuple[bool, str, None]:
        return False, reason, None

    if not subject.active:
        return no("staff_inactive")
    if subject.scopes is not None and SCOPE_FOR[action] not in subject.scopes:
        return no("scope_missing")
    # Art. 4: a purpose of the covenant, for this action, stated in one of its roles.
    if purpose not in PURPOSES:
        return no("purpose_unknown")
    if action not in PURPOSES[purpose]["actions"]:
        return no("purpose_not_for_action")
    purpose_roles = set(PURPOSES[purpose].get("roles", []))
    if purpose_roles and not purpose_roles & {role.value for role in subject.roles}:
        return no("role_not_for_purpose")
    if Role.SYSTEM in subject.roles:  # a partner system alone opens no file
        return no("role_required")
    if subject.party not in KIND_OF_PARTY:
        return no("party_unknown")
    kind = KINDS[KIND_OF_PARTY[subject.party]]
    if client is None:
        return no("client_unknown")
    # Instrument 2e: only while linked, from since up to but not including until; or, for reading only,
    # during a break-the-glass window (the demo region allows it), from since up to but not including until.
    authority = f"care_link:{link.id}" if link is not None else None
    linked = link is not None and link.since <= now and (link.until is None or now < link.until)
    if not linked:
        if action == "record.read" and emergency is not None and emergency.since <= now < emergency.until:
            authority = f"emergency:{emergency.id}"
        elif link is None:
            return no("not_linked")
        elif now < link.since:
            return no("link_not_started")
        else:
            return no("link_ended")
    # Art. 14, told only to the linked (and to whoever broke the glass).
    if client.processing_stopped:
        return no("processing_stopped")
    if not entry_found:
        return no("entry_unknown")
    if category not in CATEGORIES:
        return no("category_unknown")
    if category not in kind[RIGHT_FOR[action]]:  # art. 8.1b
        return no("category_not_permitted")
    if category == "criminal" and not kind["criminal_justice"]:  # art. 5
        return no("criminal_data_restricted")
    return True, "permitted", authority


OFFSETS = [dt.timedelta(days=-400), dt.timedelta(days=-1), -MICROSECOND, dt.timedelta(0), MICROSECOND,
           dt.timedelta(days=1)]
# Each draw picks from a list written out here (one choice per fact keeps 2000 examples fast); the lists
# repeat the ordinary case so that most examples get past the early refusals to the later rules.
LINKS = [None] + [
    LinkFacts(f"link-{number}", since=NOW + since, until=None if until is None else NOW + until)
    for number, (since, until) in enumerate(itertools.product(OFFSETS, [None, *OFFSETS]))
] + [LinkFacts(f"link-open-{days}", since=NOW - dt.timedelta(days=days)) for days in range(1, 30)]
ROLE_SETS = [frozenset(chosen) for size in range(len(Role) + 1)
             for chosen in itertools.combinations(Role, size)]
SCOPE_SETS = [frozenset(chosen) for size in range(len(ALL_SCOPES) + 1)
              for chosen in itertools.combinations(sorted(ALL_SCOPES), size)]
EMERGENCIES = [None] * 3 + [
    EmergencyFacts(f"emergency-{number}", since=NOW + since, until=NOW + since + length)
    for number, (since, length) in enumerate(itertools.product(
        [dt.timedelta(hours=-5), dt.timedelta(hours=-4), -MICROSECOND, dt.timedelta(0), MICROSECOND],
        [MICROSECOND, dt.timedelta(hours=4)]))
]
RECORD_PURPOSES = ["wellbeing", "income", "housing", "nuisance_reduction"]
subjects = st.builds(
    Subject,
    id=st.just("staff-1"),
    party=st.sampled_from([*DOCUMENT["parties"], "unknown-party", None]),
    roles=st.sampled_from(ROLE_SETS),
    active=st.sampled_from([True] * 9 + [False]),
    scopes=st.sampled_from([None] * 20 + SCOPE_SETS),
)


@settings(max_examples=2000, deadline=None, database=None)
@given(
    subject=subjects,
    action=st.sampled_from([Action.RECORD_READ, Action.RECORD_WRITE]),
    client=st.sampled_from([CLIENT] * 4 + [STOPPED, None]),
    category=st.sampled_from([*DOCUMENT["categories"]] * 3 + ["secret", None]),
    entry_found=st.sampled_from([True] * 4 + [False]),
    purpose=st.sampled_from(RECORD_PURPOSES * 3 + [*DOCUMENT["purposes"], "marketing"]),
    link=st.sampled_from(LINKS),
    emergency=st.sampled_from(EMERGENCIES),
)
def test_record_decisions_follow_the_rules(subject: Subject, action: Action, client: ClientFacts | None,
                                           category: str | None, entry_found: bool, purpose: str,
                                           link: LinkFacts | None, emergency: EmergencyFacts | None) -> None:
    decision = decide(subject, action, Resource(client=client, category=category, entry_found=entry_found,
                                                link=link, emergency=emergency),
                      Context(covenant=REGION_WITH_HOUSING, purpose=purpose, now=NOW))

    expected = oracle(subject, action.value, client, category, entry_found, purpose, link, NOW, emergency)
    assert (decision.allowed, decision.reason.value, decision.authority) == expected


# --- tokens and partner systems ----------------------------------------------------------------------------

def _system(party: str = SHELTER, scopes=frozenset({"events:write"})) -> Subject:
    return Subject(id="shelter-registration", party=party, roles=frozenset({Role.SYSTEM}), scopes=scopes)


def _context(purpose: str = "housing") -> Context:
    return Context(covenant=REGION, purpose=purpose, now=NOW)


@pytest.mark.parametrize("roles,scopes,allowed", [
    ({Role.STAFF}, {"records:read", "records:write"}, True),
    ({Role.STAFF}, {"records:read", "audit:read"}, False),
    ({Role.PRIVACY_OFFICER}, {"audit:read"}, True),
    ({Role.CLIENT_MANAGER}, {"team:manage", "requests:handle"}, True),
    ({Role.FIELD_DIRECTOR}, {"requests:handle"}, False),
    ({Role.STAFF}, {"events:write"}, False),
    ({Role.SYSTEM}, {"events:write"}, True),
    ({Role.SYSTEM}, {"records:read"}, False),
])
def test_a_token_carries_only_the_scopes_the_subjects_roles_may(roles, scopes, allowed):
    subject = Subject(id="s", party=SHELTER, roles=frozenset(roles), scopes=frozenset(scopes))
    decision = decide(subject, Action.TOKEN_GRANT, Resource(), _context(""))
    assert decision.allowed is allowed
    assert decision.reason == (Reason.PERMITTED if allowed else Reason.SCOPE_NOT_ALLOWED)
    if allowed:
        assert decision.authority == f"party:{SHELTER}"


def test_no_token_for_an_inactive_subject_or_a_party_outside_the_covenant():
    inactive = Subject(id="s", party=SHELTER, roles=frozenset({Role.STAFF}), active=False,
                       scopes=frozenset({"records:read"}))
    assert decide(inactive, Action.TOKEN_GRANT, Resource(), _context("")).reason is Reason.STAFF_INACTIVE
    stranger = Subject(id="s", party="elsewhere", roles=frozenset({Role.STAFF}), scopes=frozenset({"records:read"}))
    assert decide(stranger, Action.TOKEN_GRANT, Resource(), _context("")).reason is Reason.PARTY_UNKNOWN


@pytest.mark.parametrize("action", [Action.TOKEN_REVOKE, Action.TOKEN_INTROSPECT])
def test_only_partner_systems_manage_tokens(action):
    assert decide(_system(), action, Resource(), _context("")).allowed
    staff = Subject(id="s", party=SHELTER, roles=frozenset({Role.STAFF}), scopes=frozenset({"records:read"}))
    assert decide(staff, action, Resource(), _context("")).reason is Reason.ROLE_REQUIRED
    assert decide(_system("elsewhere"), action, Resource(), _context("")).reason is Reason.PARTY_UNKNOWN


def test_a_system_reports_events_only_about_clients_its_party_has_been_linked_to():
    client = ClientFacts(id="c")
    link = LinkFacts(id="l", since=NOW - dt.timedelta(days=400), until=NOW - dt.timedelta(days=30))
    ended_link = Resource(client=client, link=link)
    decision = decide(_system(), Action.EVENT_RECORD, ended_link, _context())
    assert (decision.allowed, decision.authority) == (True, "party_link:l")  # a past member still reports
    assert decide(_system(), Action.EVENT_RECORD, Resource(client=client), _context()).reason is Reason.NOT_LINKED
    future = Resource(client=client, link=LinkFacts(id="l", since=NOW + MICROSECOND, until=None))
    assert decide(_system(), Action.EVENT_RECORD, future, _context()).reason is Reason.NOT_LINKED
    assert decide(_system(), Action.EVENT_RECORD, Resource(), _context()).reason is Reason.CLIENT_UNKNOWN
    no_scope = _system(scopes=frozenset({"records:read"}))
    assert decide(no_scope, Action.EVENT_RECORD, ended_link, _context()).reason is Reason.SCOPE_MISSING
    staff = Subject(id="s", party=SHELTER, roles=frozenset({Role.STAFF}), scopes=frozenset({"events:write"}))
    assert decide(staff, Action.EVENT_RECORD, ended_link, _context()).reason is Reason.ROLE_REQUIRED
    assert decide(_system(), Action.EVENT_RECORD, ended_link, _context("statistics")).reason is \
        Reason.PURPOSE_NOT_FOR_ACTION


@pytest.mark.parametrize("action", [Action.RECORD_READ, Action.RECORD_WRITE, Action.LINK_GRANT])
def test_a_system_acting_on_its_own_opens_no_file(action):
    client = ClientFacts(id="c")
    link = LinkFacts(id="l", since=NOW - dt.timedelta(days=1), until=None)
    everything = _system(scopes=frozenset({"records:read", "records:write", "team:manage", "events:write"}))
    decision = decide(everything, action, Resource(client=client, category="ordinary", link=link),
                      _context("housing" if action is not Action.LINK_GRANT else "case_management"))
    assert not decision.allowed


# --- break-the-glass -----------------------------------------------------------------------------------------

WINDOW = EmergencyFacts("emergency-3", since=NOW - dt.timedelta(hours=1), until=NOW + dt.timedelta(hours=3))
PERMITTED_BY_EMERGENCY = Decision(True, Reason.PERMITTED, "emergency:emergency-3")
NO_EMERGENCY = dataclasses.replace(REGION, emergency=Emergency(enabled=False))


def read(subject: Subject = None, *, emergency: EmergencyFacts | None = WINDOW, link: LinkFacts | None = None,
         action: Action = Action.RECORD_READ, covenant: Covenant = REGION, **facts: Any) -> Decision:
    resource = Resource(client=facts.pop("client", CLIENT), category=facts.pop("category", "ordinary"),
                        entry_found=facts.pop("entry_found", True), link=link, emergency=emergency)
    return decide(subject or staff(), action, resource,
                  Context(covenant=covenant, purpose=facts.pop("purpose", "wellbeing"), now=facts.pop("now", NOW)))


@pytest.mark.parametrize(("facts", "expected"), [
    pytest.param({}, PERMITTED_BY_EMERGENCY, id="window-opens-the-file"),
    pytest.param({"now": WINDOW.since}, PERMITTED_BY_EMERGENCY, id="window-starts-at-since"),
    pytest.param({"now": WINDOW.until - MICROSECOND}, PERMITTED_BY_EMERGENCY, id="last-moment"),
    pytest.param({"now": WINDOW.until}, refused(Reason.NOT_LINKED), id="until-is-exclusive"),
    pytest.param({"now": WINDOW.since - MICROSECOND}, refused(Reason.NOT_LINKED), id="before-the-window"),
    pytest.param({"emergency": None}, refused(Reason.NOT_LINKED), id="no-window"),
    pytest.param({"link": LinkFacts("link-7", since=NOW - DAY, until=NOW)}, PERMITTED_BY_EMERGENCY,
                 id="ended-link-and-window"),
    pytest.param({"link": LinkFacts("link-7", since=NOW - DAY, until=NOW), "now": WINDOW.until},
                 refused(Reason.LINK_ENDED), id="after-window-the-link-says-why"),
    pytest.param({"link": LINK}, PERMITTED_BY_LINK, id="an-active-link-comes-first"),
    pytest.param({"client": STOPPED}, refused(Reason.PROCESSING_STOPPED), id="stopped-client-stays-closed"),
    pytest.param({"category": "special"}, PERMITTED_BY_EMERGENCY, id="shelter-reads-special"),
    pytest.param({"category": "criminal"}, refused(Reason.CATEGORY_NOT_PERMITTED), id="matrix-still-applies"),
    pytest.param({"entry_found": False}, refused(Reason.ENTRY_UNKNOWN), id="entry-unknown"),
    pytest.param({"client": None}, refused(Reason.CLIENT_UNKNOWN), id="client-unknown"),
    pytest.param({"action": Action.RECORD_WRITE}, refused(Reason.NOT_LINKED), id="writing-needs-a-link"),
    pytest.param({"covenant": NO_EMERGENCY}, refused(Reason.NOT_LINKED), id="covenant-switched-off"),
    pytest.param({"purpose": "case_management"}, refused(Reason.PURPOSE_NOT_FOR_ACTION), id="purpose-still-bound"),
])
def test_a_break_the_glass_window_stands_in_for_the_link_when_reading(facts: dict[str, Any],
                                                                        expected: Decision) -> None:
    assert read(**facts) == expected


def test_criminal_data_stays_restricted_through_a_window() -> None:
    """Art. 5 holds for a window as for a link, even where the matrix would grant criminal data."""
    shelter = REGION.party_kinds["shelter"]
    granted = dataclasses.replace(shelter, read=shelter.read | {"criminal"})
    covenant = dataclasses.replace(REGION, party_kinds={**REGION.party_kinds, "shelter": granted})
    assert read(category="criminal", covenant=covenant) == refused(Reason.CRIMINAL_DATA_RESTRICTED)
    assert read(staff(POLICE), category="criminal") == PERMITTED_BY_EMERGENCY
    assert read(staff(GGZ), category="criminal") == refused(Reason.CATEGORY_NOT_PERMITTED)


def test_a_window_on_one_client_is_no_window_on_another() -> None:
    # The facts query looks the window up for the client asked about; decide only judges its moment.
    assert read(emergency=None, client=ClientFacts("client-2")) == refused(Reason.NOT_LINKED)


def opening(subject: Subject | None = None, *, link: LinkFacts | None = None, client: ClientFacts | None = CLIENT,
            covenant: Covenant = REGION, purpose: str = "wellbeing") -> Decision:
    return decide(subject or staff(), Action.EMERGENCY_OPEN, Resource(client=client, link=link),
                  Context(covenant=covenant, purpose=purpose, now=NOW))


@pytest.mark.parametrize(("facts", "expected"), [
    pytest.param({}, Decision(True, Reason.PERMITTED, f"party:{SHELTER}"), id="unlinked-staff-may-open"),
    pytest.param({"link": LinkFacts("link-7", since=NOW - DAY, until=NOW)},
                 Decision(True, Reason.PERMITTED, f"party:{SHELTER}"), id="after-the-link-ended"),
    pytest.param({"link": LINK}, refused(Reason.ALREADY_LINKED), id="the-linked-need-no-window"),
    pytest.param({"covenant": NO_EMERGENCY}, refused(Reason.EMERGENCY_DISABLED), id="covenant-switched-off"),
    pytest.param({"covenant": NO_EMERGENCY, "client": None}, refused(Reason.EMERGENCY_DISABLED),
                 id="switched-off-before-the-client"),
    pytest.param({"client": None}, refused(Reason.CLIENT_UNKNOWN), id="client-unknown"),
    pytest.param({"client": STOPPED}, refused(Reason.PROCESSING_STOPPED), id="stopped-client"),
    pytest.param({"subject": staff("unknown-party")}, refused(Reason.PARTY_UNKNOWN), id="party-unknown"),
    pytest.param({"subject": staff(scopes=frozenset({"records:write"}))}, refused(Reason.SCOPE_MISSING),
                 id="scope-missing"),
    pytest.param({"subject": staff(active=False)}, refused(Reason.STAFF_INACTIVE), id="inactive"),
    pytest.param({"purpose": "oversight"}, refused(Reason.PURPOSE_NOT_FOR_ACTION), id="not-a-care-purpose"),
    pytest.param({"subject": Subject("sys", SHELTER, frozenset({Role.SYSTEM}))}, refused(Reason.ROLE_REQUIRED),
                 id="a-partner-system-alone"),
])
def test_opening_a_window(facts: dict[str, Any], expected: Decision) -> None:
    assert opening(**facts) == expected


@pytest.mark.parametrize(("subject", "purpose", "expected"), [
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), "oversight", AS_PRIVACY_OFFICER, id="privacy-officer"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), "oversight", refused(Reason.ROLE_NOT_FOR_PURPOSE),
                 id="field-director"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER, scopes=frozenset({"records:read"})), "oversight",
                 refused(Reason.SCOPE_MISSING), id="without-audit-read"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), "wellbeing", refused(Reason.PURPOSE_NOT_FOR_ACTION),
                 id="care-purpose"),
])
def test_only_privacy_officers_review_windows(subject: Subject, purpose: str, expected: Decision) -> None:
    decision = decide(subject, Action.EMERGENCY_REVIEW, Resource(), Context(covenant=REGION, purpose=purpose, now=NOW))
    assert decision == expected


def test_only_privacy_officers_review_windows_whatever_the_purpose_allows() -> None:
    decision = decide(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), Action.EMERGENCY_REVIEW, Resource(),
                      Context(covenant=OPEN_PURPOSES, purpose="oversight", now=NOW))
    assert decision == refused(Reason.ROLE_REQUIRED)


# --- clients' rights requests (art. 11-14) --------------------------------------------------------------------

REQUEST_ACTIONS = [pytest.param(action, id=action.value) for action in (
    Action.REQUEST_RECORD, Action.REQUEST_READ, Action.REQUEST_HANDLE, Action.REQUEST_DECIDE)]
CLIENT_MANAGER = staff(SHELTER, Role.CLIENT_MANAGER)

REQUEST_CASES = [
    pytest.param(CLIENT_MANAGER, {"client": MANAGED}, PERMITTED_BY_LINK, id="own-client-manager"),
    pytest.param(CLIENT_MANAGER, {"client": ClientFacts("client-1", processing_stopped=True, manager="staff-1")},
                 PERMITTED_BY_LINK, id="own-client-manager-processing-stopped"),
    pytest.param(CLIENT_MANAGER, {"client": ClientFacts("client-1", manager="staff-2")},
                 refused(Reason.NOT_CLIENT_MANAGER), id="another-client-manager"),
    pytest.param(CLIENT_MANAGER, {"client": MANAGED, "link": None}, refused(Reason.NOT_LINKED),
                 id="own-client-manager-unlinked"),
    pytest.param(CLIENT_MANAGER, {"client": MANAGED, "link": LinkFacts("link-7", since=NOW - 3 * DAY, until=NOW)},
                 refused(Reason.LINK_ENDED), id="own-client-manager-link-ended"),
    pytest.param(CLIENT_MANAGER, {"client": None}, refused(Reason.CLIENT_UNKNOWN), id="client-unknown"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"client": MANAGED}, refused(Reason.ROLE_REQUIRED),
                 id="field-director"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), {"client": MANAGED}, refused(Reason.ROLE_REQUIRED),
                 id="privacy-officer"),
    pytest.param(staff(SHELTER), {"client": MANAGED}, refused(Reason.ROLE_NOT_FOR_PURPOSE), id="staff"),
    pytest.param(CLIENT_MANAGER, {"client": MANAGED, "purpose": "housing"}, refused(Reason.PURPOSE_NOT_FOR_ACTION),
                 id="care-purpose"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER, scopes=frozenset({"records:read", "team:manage"})),
                 {"client": MANAGED}, refused(Reason.SCOPE_MISSING), id="scope-missing"),
]


@pytest.mark.parametrize("action", REQUEST_ACTIONS)
@pytest.mark.parametrize(("subject", "facts", "expected"), REQUEST_CASES)
def test_a_clients_requests_are_handled_by_the_clients_own_linked_client_manager(
        action: Action, subject: Subject, facts: dict[str, Any], expected: Decision) -> None:
    """Art. 11-14 and Instrument 2: the client manager handles the client's requests, also after a
    justified objection has stopped processing (the request itself must still be handled)."""
    assert ask(subject, action, **{"purpose": "subject_rights", **facts}) == expected


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param(CLIENT_MANAGER, AS_CLIENT_MANAGER := Decision(True, Reason.PERMITTED, "role:client_manager"),
                 id="client-manager"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), refused(Reason.ROLE_REQUIRED), id="field-director"),
])
def test_the_queue_of_requests_is_for_client_managers(subject: Subject, expected: Decision) -> None:
    assert ask(subject, Action.REQUEST_LIST, client=None, purpose="subject_rights") == expected


def _shielded(subject: Subject, *, client: ClientFacts = MANAGED, emergency: EmergencyFacts | None = None,
              link: LinkFacts | None = LINK) -> Decision:
    return decide(subject, Action.RECORD_READ,
                  Resource(client=client, category="ordinary", link=link, emergency=emergency, shielded=True),
                  Context(covenant=REGION, purpose="wellbeing", now=NOW))


@pytest.mark.parametrize(("subject", "expected"), [
    pytest.param(CLIENT_MANAGER, Decision(True, Reason.PERMITTED, "notices:own"), id="client-manager"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), Decision(True, Reason.PERMITTED, "notices:own"),
                 id="privacy-officer"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), Decision(True, Reason.PERMITTED, "notices:own"),
                 id="field-director"),
    pytest.param(staff(MUNICIPALITY, Role.STAFF), refused(Reason.ROLE_NOT_FOR_PURPOSE), id="staff"),
    pytest.param(staff("nowhere", Role.CLIENT_MANAGER), refused(Reason.PARTY_UNKNOWN), id="no-party"),
])
def test_deadline_notices_are_read_by_those_they_are_addressed_to(subject: Subject, expected: Decision) -> None:
    """Reminders go to client managers, escalations also to privacy officers, retention reminders also to
    the controller's field directors (art. 9.3-9.5); nobody else has notices."""
    assert ask(subject, Action.NOTICE_READ, client=None, purpose="subject_rights") == expected


def test_a_shielded_entry_is_hidden_from_all_but_the_clients_client_manager() -> None:
    """Art. 13: a granted correction may shield an entry; the client manager alone still sees it."""
    managed_by_another = ClientFacts("client-1", manager="staff-2")  # staff() subjects are all "staff-1"
    assert _shielded(CLIENT_MANAGER) == PERMITTED_BY_LINK
    assert _shielded(staff(GGZ), client=managed_by_another) == refused(Reason.ENTRY_SHIELDED)
    assert _shielded(CLIENT_MANAGER, client=managed_by_another) == refused(Reason.ENTRY_SHIELDED)
    assert _shielded(staff(POLICE), client=managed_by_another, link=None, emergency=WINDOW) == \
        refused(Reason.ENTRY_SHIELDED)
    # The shield comes on top of the other rules: unlinked is still unlinked.
    assert _shielded(CLIENT_MANAGER, link=None) == refused(Reason.NOT_LINKED)


@pytest.mark.parametrize("subject", [pytest.param(_system(scopes=frozenset({"notifications:read"})), id="system"),
                                     pytest.param(staff(GGZ), id="staff")])
def test_a_party_fetches_its_notifications(subject: Subject) -> None:
    """GDPR art. 19: a party's system or staff fetches the notices of corrections sent to the party."""
    assert decide(subject, Action.NOTIFICATION_READ, Resource(), _context("wellbeing")) == \
        Decision(True, Reason.PERMITTED, f"party:{subject.party}")
    assert decide(subject._replace(party="nobody"), Action.NOTIFICATION_READ, Resource(),
                  _context("wellbeing")).reason is Reason.PARTY_UNKNOWN
    no_scope = subject._replace(scopes=frozenset({"events:write"}))
    assert decide(no_scope, Action.NOTIFICATION_READ, Resource(), _context("wellbeing")).reason is \
        Reason.SCOPE_MISSING


@pytest.mark.parametrize(("subject", "kwargs", "expected"), [
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {},
                 Decision(True, Reason.PERMITTED, "controller:field_director"), id="controller-field-director"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=ALL_SCOPES), {},
                 Decision(True, Reason.PERMITTED, "controller:field_director"), id="by-token"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"records:read"})), {},
                 refused(Reason.SCOPE_MISSING), id="no-team-manage-scope"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"client": None}, refused(Reason.CLIENT_UNKNOWN),
                 id="unknown-client"),
    pytest.param(staff(SHELTER, Role.FIELD_DIRECTOR), {}, refused(Reason.NOT_CONTROLLER),
                 id="field-director-of-another-party"),
    pytest.param(staff(MUNICIPALITY, Role.PRIVACY_OFFICER), {}, refused(Reason.ROLE_NOT_FOR_PURPOSE),
                 id="privacy-officer"),
    pytest.param(CLIENT_MANAGER, {"client": MANAGED}, refused(Reason.ROLE_NOT_FOR_PURPOSE), id="client-manager"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR), {"purpose": "case_management"},
                 refused(Reason.PURPOSE_NOT_FOR_ACTION), id="other-purpose"),
    pytest.param(staff(MUNICIPALITY, Role.FIELD_DIRECTOR, active=False), {}, refused(Reason.STAFF_INACTIVE),
                 id="inactive"),
])
def test_the_statistics_decision_is_the_controllers(subject: Subject, kwargs: dict, expected: Decision) -> None:
    """Art. 9.4-9.5 with art. 7: the controller decides to keep a de-identified extract; its duties are
    done by its coordination point, so a field director of the party the covenant names as controller."""
    assert ask(subject, Action.STATISTICS_DECIDE, **{"purpose": "statistics", **kwargs}) == expected


def test_only_the_statistics_purpose_allows_the_statistics_decision() -> None:
    assert [code for code, purpose in REGION.purposes.items()
            if Action.STATISTICS_DECIDE in purpose.actions] == ["statistics"]
