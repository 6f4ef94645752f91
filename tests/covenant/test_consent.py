"""Consent in the decision: an exchange the covenant makes depend on consent (the municipality and the
care office) is refused without the client's consent in force, and again from its withdrawal."""

from __future__ import annotations

import datetime as dt

import pytest

import policies
from covenant import Action, ClientFacts, Context, CovenantError, Decision, LinkFacts, Reason, Resource, Role
from covenant import Subject, load_covenant, parse_covenant
from tests.covenant.decisions import decide
from tests.covenant.documents import region_document

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
REGION = load_covenant(policies.DEMO_REGION)
SHELTER, MUNICIPALITY, CARE_OFFICE = "opvang-de-haven", "gemeente-demostad", "zorgkantoor-demo"
SCOPE = "municipality_care_office"
LINK = LinkFacts("link-7", since=NOW - dt.timedelta(days=1))
PERMITTED = Decision(True, Reason.PERMITTED, "care_link:link-7")


def read(reader: str, source: str | None, *, category: str = "ordinary", consents=frozenset(),
         withdrawn=frozenset(), covenant=REGION) -> Decision:
    subject = Subject(id="staff-1", party=reader, roles=frozenset({Role.STAFF}))
    return decide(subject, Action.RECORD_READ,
                  Resource(client=ClientFacts("client-1"), category=category, link=LINK, source_party=source,
                           consents=frozenset(consents), withdrawn_consents=frozenset(withdrawn)),
                  Context(covenant=covenant, purpose="wellbeing", now=NOW))


def test_the_demo_region_inherits_the_models_consent_rule() -> None:
    rule = REGION.consents[SCOPE]
    assert (rule.first, rule.second, rule.categories) == (
        {"municipality"}, {"care_office"}, {"ordinary", "special"})


@pytest.mark.parametrize(("reader", "source"), [(CARE_OFFICE, MUNICIPALITY), (MUNICIPALITY, CARE_OFFICE)])
def test_the_exchange_needs_consent_both_ways(reader: str, source: str) -> None:
    assert read(reader, source) == Decision(False, Reason.CONSENT_MISSING)
    assert read(reader, source, category="special") == Decision(False, Reason.CONSENT_MISSING)
    assert read(reader, source, consents={SCOPE}) == PERMITTED
    assert read(reader, source, withdrawn={SCOPE}) == Decision(False, Reason.CONSENT_WITHDRAWN)
    # Given again after a withdrawal: in force again.
    assert read(reader, source, consents={SCOPE}, withdrawn={SCOPE}) == PERMITTED


@pytest.mark.parametrize(("reader", "source"), [
    pytest.param(CARE_OFFICE, SHELTER, id="care-office-reads-the-shelter"),
    pytest.param(SHELTER, MUNICIPALITY, id="shelter-reads-the-municipality"),
    pytest.param(CARE_OFFICE, CARE_OFFICE, id="own-party"),
    pytest.param(CARE_OFFICE, None, id="source-not-known-to-the-decision"),
])
def test_other_exchanges_do_not_depend_on_it(reader: str, source: str | None) -> None:
    assert read(reader, source) == PERMITTED


def test_a_covenant_without_consent_rules_asks_for_none() -> None:
    document = region_document()
    document.pop("consents", None)
    covenant = parse_covenant(document, source="no-consents.toml")
    assert covenant.consents == {}
    assert read(CARE_OFFICE, MUNICIPALITY, covenant=covenant) == PERMITTED


@pytest.mark.parametrize(("rule", "place"), [
    pytest.param({"name": "x", "first": ["municipality"], "second": ["army"], "categories": ["ordinary"]},
                 "consents.bad.second[0]", id="unknown-kind"),
    pytest.param({"name": "x", "first": ["municipality"], "second": ["municipality"], "categories": ["ordinary"]},
                 "consents.bad.second", id="kind-on-both-sides"),
    pytest.param({"name": "x", "first": ["municipality"], "second": ["care_office"], "categories": []},
                 "consents.bad.categories", id="no-categories"),
    pytest.param({"name": "x", "first": [], "second": ["care_office"], "categories": ["ordinary"]},
                 "consents.bad", id="empty-side"),
    pytest.param({"name": "x", "first": ["municipality"], "second": ["care_office"], "categories": ["ordinary"],
                  "who": "x"}, "consents.bad.who", id="unknown-key"),
])
def test_the_loader_refuses_a_malformed_consent_rule(rule: dict, place: str) -> None:
    document = region_document()
    document["consents"] = {"bad": rule}
    with pytest.raises(CovenantError) as raised:
        parse_covenant(document, source="bad.toml")
    assert place in str(raised.value)


def test_the_clients_own_client_manager_records_consent() -> None:
    client = ClientFacts("client-1", manager="staff-1")

    def manage(subject: Subject) -> Reason:
        return decide(subject, Action.CONSENT_MANAGE, Resource(client=client, link=LINK),
                      Context(covenant=REGION, purpose="case_management", now=NOW)).reason

    assert manage(Subject(id="staff-1", party=SHELTER, roles=frozenset({Role.CLIENT_MANAGER}))) is Reason.PERMITTED
    assert manage(Subject(id="staff-2", party=SHELTER, roles=frozenset({Role.CLIENT_MANAGER}))) is (
        Reason.NOT_CLIENT_MANAGER)
    assert manage(Subject(id="staff-1", party=CARE_OFFICE, roles=frozenset({Role.STAFF}))) is Reason.ROLE_NOT_FOR_PURPOSE
