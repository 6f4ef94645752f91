"""The controller's statistics decision over HTTP (art. 9.4-9.5): a field director of the controller's party,
before the client's term ends; refused after it (409) and to everyone else (403)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from audit import AuditAction, Outcome
from gateway.statistics.models import StatisticsDecision
from tests.gateway.helpers import auth, events, last_event, token
from tests.statistics.helpers import at, term_end


def url(client_id) -> str:
    return f"/v1/clients/{client_id}/statistics-decision"


def decisions(runtime) -> list[StatisticsDecision]:
    with runtime.session() as session:
        return list(session.scalars(select(StatisticsDecision)))


def test_the_controllers_field_director_decides_before_the_term_ends(runtime, demo, http, clock):
    client_id = demo.clients[0]
    ends_on = term_end(runtime, client_id)
    at(clock, ends_on)  # the last day of the term, as the purge counts it: still in time
    headers = auth(token(runtime, demo.staff["field_director"]), "statistics")
    response = http.post(url(client_id), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["client_id"], body["term_ends_on"], body["already"]) == (client_id, ends_on.isoformat(), False)
    [stored] = decisions(runtime)
    assert (str(stored.client_id), stored.term_ends_on, str(stored.decided_by)) == (
        client_id, ends_on, demo.staff["field_director"])
    event = last_event(runtime, action=AuditAction.RETENTION_DECISION)
    assert (event.outcome, event.authority, event.object_id) == (Outcome.PERMIT, "controller:field_director",
                                                                 client_id)
    assert event.client_pseudonym and event.detail == {"term_ends_on": ends_on.isoformat(), "already": False}

    again = http.post(url(client_id), headers=headers)
    assert again.status_code == 200 and again.json()["already"] is True and again.json()["id"] == body["id"]
    assert len(decisions(runtime)) == 1
    assert last_event(runtime, action=AuditAction.RETENTION_DECISION).detail["already"] is True


def test_after_the_term_has_ended_the_decision_is_409_and_recorded(runtime, demo, http, clock):
    client_id = demo.clients[0]
    ends_on = term_end(runtime, client_id)
    at(clock, ends_on + dt.timedelta(days=1))  # the day the purge takes the client
    response = http.post(url(client_id), headers=auth(token(runtime, demo.staff["field_director"]), "statistics"))
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["term_ends_on"] == ends_on.isoformat()
    assert decisions(runtime) == []
    event = last_event(runtime, action=AuditAction.RETENTION_DECISION)
    assert (event.outcome, event.reason) == (Outcome.DENY, "term_ended")


@pytest.mark.parametrize(("member", "purpose", "reason"), [
    ("client_manager", "statistics", "role_not_for_purpose"),
    ("privacy_officer", "statistics", "scope_missing"),  # no team:manage in a privacy officer's token
    ("ggz_worker", "statistics", "scope_missing"),
    ("police_officer", "statistics", "scope_missing"),
    ("field_director", "case_management", "purpose_not_for_action"),
])
def test_anyone_else_is_refused_with_403_on_record(runtime, demo, http, member, purpose, reason):
    response = http.post(url(demo.clients[0]), headers=auth(token(runtime, demo.staff[member]), purpose))
    assert response.status_code == 403, response.text
    assert decisions(runtime) == []
    event = last_event(runtime, action=AuditAction.RETENTION_DECISION)
    assert (event.outcome, event.reason, event.actor_id) == (Outcome.DENY, reason, demo.staff[member])


def test_a_field_director_of_another_party_is_not_the_controller(runtime, demo, http):
    from sqlalchemy import update

    from audit import UnitOfWork
    from gateway.parties.models import Staff

    # The demo's field director moves to the shelter: a field director, but not of the controller's party.
    staff_id = uuid.UUID(demo.staff["field_director"])
    runtime.committer.commit(UnitOfWork(events=[], apply=lambda conn: conn.execute(
        update(Staff).where(Staff.id == staff_id).values(party_id=demo.parties["shelter"]))))
    response = http.post(url(demo.clients[0]), headers=auth(token(runtime, staff_id), "statistics"))
    assert response.status_code == 403 and response.json()["reason"] == "not_controller"
    assert last_event(runtime, action=AuditAction.RETENTION_DECISION).reason == "not_controller"


def test_no_token_is_401_and_an_unknown_client_404_to_the_field_director(runtime, demo, http):
    assert http.post(url(demo.clients[0]), headers=auth(None, "statistics")).status_code == 401
    unknown = uuid.uuid4()
    response = http.post(url(unknown), headers=auth(token(runtime, demo.staff["field_director"]), "statistics"))
    assert response.status_code == 404
    assert events(runtime, action=AuditAction.RETENTION_DECISION)[-1].reason == "client_unknown"
    assert decisions(runtime) == []
