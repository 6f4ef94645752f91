"""Art. 10 in the decision: no intake-form section before the client is informed."""

from __future__ import annotations

import datetime as dt

import policies
from covenant import Action, ClientFacts, Context, LinkFacts, Reason, Resource, Role, Subject, load_covenant
from tests.covenant.decisions import decide

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
REGION = load_covenant(policies.DEMO_REGION)
LINK = LinkFacts("link-7", since=NOW - dt.timedelta(days=1))
MANAGER = Subject(id="staff-1", party="opvang-de-haven", roles=frozenset({Role.CLIENT_MANAGER}))


def write(kind: str, *, informed: bool, action: Action = Action.RECORD_WRITE) -> Reason:
    client = ClientFacts("client-1", manager="staff-1", informed=informed)
    return decide(MANAGER, action, Resource(client=client, category="ordinary", link=LINK, entry_kind=kind),
                  Context(covenant=REGION, purpose="housing", now=NOW)).reason


def test_an_intake_section_waits_for_the_informed_moment() -> None:
    assert write("intake", informed=False) is Reason.CLIENT_NOT_INFORMED
    assert write("intake", informed=True) is Reason.PERMITTED


def test_other_entries_and_reads_do_not_wait() -> None:
    assert write("note", informed=False) is Reason.PERMITTED
    assert write("intake", informed=False, action=Action.RECORD_READ) is Reason.PERMITTED


def test_the_clients_own_client_manager_records_the_moment_while_linked() -> None:
    def inform(subject: Subject, link: LinkFacts | None = LINK) -> Reason:
        return decide(subject, Action.CLIENT_INFORM,
                      Resource(client=ClientFacts("client-1", manager="staff-1", informed=False), link=link),
                      Context(covenant=REGION, purpose="case_management", now=NOW)).reason

    assert inform(MANAGER) is Reason.PERMITTED
    assert inform(MANAGER, link=None) is Reason.NOT_LINKED
    other = Subject(id="staff-2", party="opvang-de-haven", roles=frozenset({Role.CLIENT_MANAGER}))
    assert inform(other) is Reason.NOT_CLIENT_MANAGER
    field_director = Subject(id="staff-3", party="gemeente-demostad", roles=frozenset({Role.FIELD_DIRECTOR}))
    assert inform(field_director) is Reason.ROLE_REQUIRED
