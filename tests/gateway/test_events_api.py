"""Partner systems report contacts and deletions at their source (scope events:write)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from audit import AuditAction, Outcome
from gateway.clients.models import Client
from gateway.records.models import Entry
from tests.gateway.helpers import auth, last_event, token
from tests.gateway.test_oauth import Partner


def system_token(http, partner: Partner) -> str:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials", **partner.client_assertion()})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def shelter(runtime, demo) -> Partner:
    return Partner(runtime, demo.parties["shelter"])


def events_url(client_id) -> str:
    return f"/v1/clients/{client_id}/events"


def test_a_linked_partys_system_reports_a_contact_and_the_term_moves(runtime, demo, shelter, http, clock):
    clock.advance(dt.timedelta(days=30))
    bearer = system_token(http, shelter)

    def last_contact():
        with runtime.session() as session:
            return session.get(Client, uuid.UUID(demo.clients[0])).last_contact_at

    seeded = last_contact()
    day = (clock() - dt.timedelta(days=2)).date()
    response = http.post(events_url(demo.clients[0]), json={"type": "contact", "date": day.isoformat()},
                         headers=auth(bearer, "housing"))
    assert response.status_code == 201, response.text
    assert response.json()["type"] == "contact"
    moved = last_contact()
    assert moved > seeded
    assert moved.astimezone(runtime.settings.zone).date() == day
    earlier = http.post(events_url(demo.clients[0]), json={"type": "contact", "date": (day - dt.timedelta(days=9)
                                                                                      ).isoformat()},
                        headers=auth(bearer, "housing"))
    assert earlier.status_code == 201
    assert last_contact() == moved  # an older contact never moves the term back
    event = last_event(runtime, action=AuditAction.EVENT_CONTACT, object_id=response.json()["id"])
    assert (event.outcome, event.actor_id, event.actor_party) == (Outcome.PERMIT, shelter.client_id,
                                                                  demo.parties["shelter"])
    assert event.authority.startswith("party_link:")


def test_a_contact_in_the_future_is_422_and_changes_nothing(runtime, demo, shelter, http, clock):
    bearer = system_token(http, shelter)
    with runtime.session() as session:
        before = session.get(Client, uuid.UUID(demo.clients[0])).last_contact_at
    tomorrow = (clock() + dt.timedelta(days=2)).date().isoformat()
    response = http.post(events_url(demo.clients[0]), json={"type": "contact", "date": tomorrow},
                         headers=auth(bearer, "housing"))
    assert response.status_code == 422
    with runtime.session() as session:
        assert session.get(Client, uuid.UUID(demo.clients[0])).last_contact_at == before


def test_a_party_never_in_the_care_team_cannot_report_about_the_client(runtime, demo, http):
    police = Partner(runtime, demo.parties["police"], name="Police case system")
    response = http.post(events_url(demo.clients[0]), json={"type": "contact", "date": "2026-11-20"},
                         headers=auth(system_token(http, police), "nuisance_reduction"))
    assert response.status_code == 403
    assert last_event(runtime, action=AuditAction.EVENT_CONTACT).reason == "not_linked"
    unknown = http.post(events_url(uuid.uuid4()), json={"type": "contact", "date": "2026-11-20"},
                        headers=auth(system_token(http, police), "nuisance_reduction"))
    assert unknown.status_code == 403  # no different from a client it may not report about


def test_staff_tokens_do_not_report_events(runtime, demo, http):
    bearer = token(runtime, demo.staff["client_manager"])
    response = http.post(events_url(demo.clients[0]), json={"type": "contact", "date": "2026-11-20"},
                         headers=auth(bearer, "housing"))
    assert response.status_code == 403
    assert last_event(runtime, action=AuditAction.EVENT_CONTACT).reason in ("scope_missing", "role_required")


def test_a_deletion_at_the_source_destroys_that_partys_entries_under_that_reference(runtime, demo, shelter,
                                                                                   http):
    manager = token(runtime, demo.staff["client_manager"])
    note = {"kind": "note", "category": "ordinary", "content": {"text": "intake talk"}, "source_reference": "DH-17"}
    kept = {**note, "source_reference": "DH-18"}
    entries = f"/v1/clients/{demo.clients[0]}/entries"
    doomed = http.post(entries, json=note, headers=auth(manager)).json()["id"]
    other = http.post(entries, json=kept, headers=auth(manager)).json()["id"]

    # GGZ is in the care team too, but DH-17 is the shelter's reference: nothing of the shelter's goes.
    ggz = Partner(runtime, demo.parties["mental_health"], name="GGZ records")
    response = http.post(events_url(demo.clients[0]), json={"type": "source_deleted", "source_reference": "DH-17"},
                         headers=auth(system_token(http, ggz), "wellbeing"))
    assert (response.status_code, response.json()["entries_destroyed"]) == (201, 0)

    response = http.post(events_url(demo.clients[0]), json={"type": "source_deleted", "source_reference": "DH-17"},
                         headers=auth(system_token(http, shelter), "wellbeing"))
    assert response.status_code == 201, response.text
    assert response.json()["entries_destroyed"] == 1
    assert http.get(f"{entries}/{doomed}", headers=auth(manager)).status_code == 404
    assert http.get(f"{entries}/{other}", headers=auth(manager)).status_code == 200
    event = last_event(runtime, action=AuditAction.EVENT_SOURCE_DELETED)
    assert event.detail == {"entries_destroyed": [doomed]}
    assert "DH-17" not in str(event.detail)


def test_a_source_deletion_destroys_exactly_the_matching_entries(runtime, demo, shelter, http):
    """Only the reporting party's entries under that reference, of that client: not the same reference
    on another client, not the party's other entries, not another party's entries."""
    from tests.gateway.helpers import register_client

    manager = token(runtime, demo.staff["client_manager"])
    other_client = register_client(runtime, demo.staff["client_manager"])
    note = {"kind": "note", "category": "ordinary", "content": {"text": "intake talk"}, "source_reference": "DH-21"}

    def write(client_id, body) -> str:
        response = http.post(f"/v1/clients/{client_id}/entries", json=body, headers=auth(manager))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    doomed = [write(demo.clients[0], note), write(demo.clients[0], note)]
    kept = [write(other_client, note), write(demo.clients[0], {**note, "source_reference": "DH-210"}),
            write(demo.clients[0], {key: value for key, value in note.items() if key != "source_reference"})]
    response = http.post(events_url(demo.clients[0]), json={"type": "source_deleted", "source_reference": "DH-21"},
                         headers=auth(system_token(http, shelter), "wellbeing"))
    assert response.status_code == 201 and response.json()["entries_destroyed"] == 2
    with runtime.session() as session:
        left = {str(entry_id) for entry_id in session.scalars(select(Entry.id))}
    assert left.isdisjoint(doomed) and set(kept) <= left
    assert sorted(last_event(runtime, action=AuditAction.EVENT_SOURCE_DELETED).detail["entries_destroyed"]) == \
        sorted(doomed)


@pytest.mark.parametrize("body", [
    {"type": "contact"},
    {"type": "contact", "date": "yesterday"},
    {"type": "source_deleted", "source_reference": ""},
    {"type": "holiday", "date": "2026-11-20"},
    {"type": "contact", "date": "2026-11-20", "extra": "x"},
])
def test_a_malformed_event_is_422(runtime, demo, shelter, http, body):
    response = http.post(events_url(demo.clients[0]), json=body, headers=auth(system_token(http, shelter)))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
