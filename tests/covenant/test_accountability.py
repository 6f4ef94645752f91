"""Art. 15 and Instrument 2 in the covenant: processing activities' stable ids, the [reporting] table, and
who may read the processing register and the monthly report."""

from __future__ import annotations

import datetime as dt

import pytest

import policies
from covenant import Action, Context, CovenantError, Reason, Resource, Role, Subject, decide, load_covenant, parse_covenant
from covenant.model import Duration
from tests.covenant.documents import region_document

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
REGION = load_covenant(policies.DEMO_REGION)
MUNICIPALITY, SHELTER = "gemeente-demostad", "opvang-de-haven"


def test_an_activity_id_comes_from_the_covenant_id_and_the_purpose() -> None:
    assert REGION.activity_of("housing") == "demo-region:housing"
    assert REGION.activity_of("covenant_administration") == "demo-region:covenant_administration"


def test_an_activity_id_does_not_change_with_the_version_or_other_purposes() -> None:
    document = region_document()
    document["covenant"]["version"] = "2"
    document["purposes"]["outreach"] = {"name": "Outreach", "article": "4", "actions": ["record.read"]}
    changed = parse_covenant(document)
    assert changed.label != REGION.label
    assert {code: changed.activity_of(code) for code in REGION.purposes} == \
        {code: REGION.activity_of(code) for code in REGION.purposes}


def test_a_purpose_may_name_its_activity_explicitly() -> None:
    document = region_document()
    document["purposes"]["housing"]["activity"] = "urn:demostad:verwerking:wonen"
    assert parse_covenant(document).activity_of("housing") == "urn:demostad:verwerking:wonen"


@pytest.mark.parametrize("activity, fragment", [
    ("has spaces", "identifier"),
    ("", "identifier"),
    (7, "identifier"),
    ("demo-region:income", "same processing activity"),
])
def test_a_bad_or_shared_activity_id_is_refused(activity, fragment) -> None:
    document = region_document()
    document["purposes"]["housing"]["activity"] = activity
    with pytest.raises(CovenantError, match=fragment) as caught:
        parse_covenant(document, source="region.toml")
    assert caught.value.place == "purposes.housing.activity"


def test_the_reporting_terms_come_from_the_document() -> None:
    assert REGION.reporting.intake == Duration(days=7)
    assert REGION.reporting.care_plan == Duration(days=28)
    assert REGION.suppress_below == 5
    document = region_document()
    document["reporting"] = {"intake": "P1W", "suppress_below": 10}
    changed = parse_covenant(document)
    assert (changed.reporting.intake, changed.reporting.care_plan, changed.suppress_below) == \
        (Duration(days=7), Duration(days=28), 10)


def test_without_a_threshold_the_report_uses_statistics_k() -> None:
    document = region_document()
    document["reporting"] = {}
    document["retention"]["statistics_k"] = 11
    assert parse_covenant(document).suppress_below == 11


@pytest.mark.parametrize("table, place", [
    ({"suppress_below": 1}, "reporting.suppress_below"),
    ({"suppress_below": True}, "reporting.suppress_below"),
    ({"intake": "one week"}, "reporting.intake"),
    ({"care_plan": "P0D"}, "reporting.care_plan"),
    ({"other": 1}, "reporting.other"),
])
def test_a_bad_reporting_table_is_refused(table, place) -> None:
    document = region_document()
    document["reporting"] = table
    with pytest.raises(CovenantError) as caught:
        parse_covenant(document)
    assert caught.value.place == place


def staff(party: str, *roles: Role, scopes=None) -> Subject:
    return Subject(id="staff-1", party=party, roles=frozenset(roles), scopes=scopes)


def ask(subject: Subject, action: Action, purpose: str = "accountability"):
    return decide(subject, action, Resource(), Context(covenant=REGION, purpose=purpose, now=NOW))


@pytest.mark.parametrize("subject, action, reason, authority", [
    (staff(MUNICIPALITY, Role.PRIVACY_OFFICER), Action.REGISTER_READ, Reason.PERMITTED, "controller:privacy_officer"),
    (staff(MUNICIPALITY, Role.FIELD_DIRECTOR), Action.REGISTER_READ, Reason.PERMITTED, "controller:field_director"),
    (staff(MUNICIPALITY, Role.FIELD_DIRECTOR), Action.REPORT_READ, Reason.PERMITTED, "controller:field_director"),
    (staff(MUNICIPALITY, Role.PRIVACY_OFFICER), Action.REPORT_READ, Reason.ROLE_REQUIRED, None),
    (staff(SHELTER, Role.PRIVACY_OFFICER), Action.REGISTER_READ, Reason.NOT_CONTROLLER, None),
    (staff(SHELTER, Role.FIELD_DIRECTOR), Action.REPORT_READ, Reason.NOT_CONTROLLER, None),
    (staff(MUNICIPALITY, Role.CLIENT_MANAGER), Action.REGISTER_READ, Reason.ROLE_NOT_FOR_PURPOSE, None),
    (Subject.administrator(), Action.REGISTER_READ, Reason.PERMITTED, "role:administrator"),
    (Subject.administrator(), Action.REPORT_READ, Reason.PERMITTED, "role:administrator"),
    (staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"team:manage"})), Action.REPORT_READ,
     Reason.SCOPE_MISSING, None),
    (staff(MUNICIPALITY, Role.FIELD_DIRECTOR, scopes=frozenset({"reports:read"})), Action.REPORT_READ,
     Reason.PERMITTED, "controller:field_director"),
])
def test_who_reads_the_register_and_the_report(subject, action, reason, authority) -> None:
    decision = ask(subject, action)
    assert (decision.reason, decision.authority) == (reason, authority)
    assert decision.allowed is (reason is Reason.PERMITTED)


def test_the_register_is_read_for_accountability_only() -> None:
    subject = staff(MUNICIPALITY, Role.PRIVACY_OFFICER)
    assert ask(subject, Action.REGISTER_READ, purpose="oversight").reason is Reason.PURPOSE_NOT_FOR_ACTION
    assert ask(subject, Action.REGISTER_READ).allowed
