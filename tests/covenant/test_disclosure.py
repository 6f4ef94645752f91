"""Art. 5 in the decision: a prosecutor's approval discloses one criminal entry to one party."""

from __future__ import annotations

import datetime as dt

import pytest

import policies
from covenant import Action, ClientFacts, Context, Decision, EmergencyFacts, LinkFacts, Reason, Resource, Role
from covenant import Subject, load_covenant
from tests.covenant.decisions import decide

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
REGION = load_covenant(policies.DEMO_REGION)
SHELTER, POLICE, PROSECUTION, GGZ = "opvang-de-haven", "politie-eenheid-demo", "om-demostad", "ggz-rivierland"
CLIENT = ClientFacts("client-1")
LINK = LinkFacts("link-7", since=NOW - dt.timedelta(days=30))
WINDOW = EmergencyFacts("window-1", since=NOW - dt.timedelta(hours=1), until=NOW + dt.timedelta(hours=1))


def staff(party: str, *roles: Role) -> Subject:
    return Subject(id="staff-1", party=party, roles=frozenset(roles or {Role.STAFF}))


def read(party: str, *, disclosure: str | None, link: LinkFacts | None = LINK,
         emergency: EmergencyFacts | None = None, purpose: str = "wellbeing") -> Decision:
    return decide(staff(party), Action.RECORD_READ,
                  Resource(client=CLIENT, category="criminal", link=link, emergency=emergency,
                           disclosure=disclosure),
                  Context(covenant=REGION, purpose=purpose, now=NOW))


def approve(subject: Subject, *, category: str | None = "criminal", recipient: str | None = SHELTER,
            client: ClientFacts | None = CLIENT, entry_found: bool = True) -> Decision:
    return decide(subject, Action.DISCLOSURE_MANAGE,
                  Resource(client=client, category=category, entry_found=entry_found, recipient=recipient),
                  Context(covenant=REGION, purpose="nuisance_reduction", now=NOW))


def test_a_linked_shelter_worker_reads_a_criminal_entry_only_with_an_approval() -> None:
    assert read(SHELTER, disclosure=None) == Decision(False, Reason.CATEGORY_NOT_PERMITTED)
    assert read(SHELTER, disclosure="d-1") == Decision(True, Reason.PERMITTED, "disclosure:d-1")


def test_an_approval_does_not_stand_in_for_the_link_or_the_purpose() -> None:
    assert read(SHELTER, disclosure="d-1", link=None).reason is Reason.NOT_LINKED
    ended = LinkFacts("link-7", since=NOW - dt.timedelta(days=2), until=NOW)
    assert read(SHELTER, disclosure="d-1", link=ended).reason is Reason.LINK_ENDED
    assert read(SHELTER, disclosure="d-1", purpose="oversight").allowed is False
    # A break-the-glass window opens the file, but not what a prosecutor disclosed to the linked.
    assert read(SHELTER, disclosure="d-1", link=None, emergency=WINDOW) == Decision(
        False, Reason.CRIMINAL_DATA_RESTRICTED)


def test_criminal_justice_parties_need_no_approval() -> None:
    assert read(POLICE, disclosure=None) == Decision(True, Reason.PERMITTED, "care_link:link-7")


def test_an_approval_opens_no_other_category_and_no_write() -> None:
    # The disclosure fact is about a criminal entry; an ordinary entry is decided as before.
    ordinary = decide(staff(SHELTER), Action.RECORD_READ,
                      Resource(client=CLIENT, category="ordinary", link=LINK, disclosure="d-1"),
                      Context(covenant=REGION, purpose="wellbeing", now=NOW))
    assert ordinary == Decision(True, Reason.PERMITTED, "care_link:link-7")
    write = decide(staff(SHELTER), Action.RECORD_WRITE,
                   Resource(client=CLIENT, category="criminal", link=LINK, disclosure="d-1"),
                   Context(covenant=REGION, purpose="wellbeing", now=NOW))
    assert write.allowed is False


PROSECUTOR = staff(PROSECUTION, Role.PROSECUTOR)


@pytest.mark.parametrize(("subject", "kwargs", "reason"), [
    pytest.param(PROSECUTOR, {}, Reason.PERMITTED, id="prosecutor-approves"),
    pytest.param(staff(PROSECUTION), {}, Reason.ROLE_REQUIRED, id="prosecution-staff-without-the-role"),
    pytest.param(staff(SHELTER, Role.CLIENT_MANAGER), {}, Reason.ROLE_REQUIRED, id="client-manager"),
    pytest.param(staff(POLICE, Role.PROSECUTOR), {}, Reason.NOT_PROSECUTION, id="prosecutor-role-at-police"),
    pytest.param(staff("elsewhere", Role.PROSECUTOR), {}, Reason.PARTY_UNKNOWN, id="no-covenant-party"),
    pytest.param(PROSECUTOR, {"client": None}, Reason.CLIENT_UNKNOWN, id="unknown-client"),
    pytest.param(PROSECUTOR, {"entry_found": False}, Reason.ENTRY_UNKNOWN, id="unknown-entry"),
    pytest.param(PROSECUTOR, {"category": "ordinary"}, Reason.NOT_CRIMINAL_DATA, id="ordinary-entry"),
    pytest.param(PROSECUTOR, {"category": "special"}, Reason.NOT_CRIMINAL_DATA, id="special-entry"),
    pytest.param(PROSECUTOR, {"recipient": POLICE}, Reason.DISCLOSURE_NOT_NEEDED, id="to-the-police"),
    pytest.param(PROSECUTOR, {"recipient": "elsewhere"}, Reason.RECIPIENT_UNKNOWN, id="to-no-party"),
    pytest.param(PROSECUTOR, {"recipient": GGZ}, Reason.PERMITTED, id="to-ggz"),
    pytest.param(PROSECUTOR, {"recipient": None}, Reason.PERMITTED, id="listing"),
])
def test_who_approves_a_disclosure(subject: Subject, kwargs: dict, reason: Reason) -> None:
    decision = approve(subject, **kwargs)
    assert decision.reason is reason
    assert decision.allowed is (reason is Reason.PERMITTED)
    if decision.allowed:
        assert decision.authority == "role:prosecutor"


def test_a_token_without_the_disclosure_scope_is_refused() -> None:
    subject = Subject(id="p", party=PROSECUTION, roles=frozenset({Role.PROSECUTOR}),
                      scopes=frozenset({"records:read"}))
    assert approve(subject).reason is Reason.SCOPE_MISSING
