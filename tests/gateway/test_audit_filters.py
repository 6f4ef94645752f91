"""The review's filters (party, action, outcome, period), in the service and over the API."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from audit import AuditAction, Outcome
from gateway.auditlog import service as auditlog_service
from gateway.auditlog.service import EventFilter
from gateway.errors import BadRequest, Forbidden
from gateway.parties.models import Staff
from gateway.parties.service import staff_row
from gateway.records import service as records_service
from tests.gateway.helpers import act, auth, events, last_event, token


def police_tries(runtime, demo, http):
    police = token(runtime, demo.staff["police_officer"])
    http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(police, "nuisance_reduction"))


def review(runtime, staff_id, **filters):
    return act(runtime, staff_id, lambda tx: auditlog_service.review_events(tx, purpose="oversight", **filters)).items


def test_each_filter_narrows(runtime, demo, http, clock):
    police_tries(runtime, demo, http)
    officer = demo.staff["privacy_officer"]
    denied = review(runtime, officer, outcome="deny")
    assert denied and {e.outcome for e in denied} == {"deny"}
    writes = review(runtime, officer, action="record.write")
    assert writes and {e.action for e in writes} == {"record.write"}
    police = review(runtime, officer, party=demo.parties["police"])
    assert police and {e.actor_party for e in police} == {demo.parties["police"]}
    today = review(runtime, officer, occurred_from=clock(), occurred_until=clock() + dt.timedelta(seconds=1))
    assert today and all(e.occurred_at == clock() for e in today)
    assert review(runtime, officer, occurred_from=clock() + dt.timedelta(seconds=1)) == []
    assert review(runtime, officer, occurred_until=clock()) == []
    combined = review(runtime, officer, party=demo.parties["police"], outcome="deny", action="record.list")
    assert [(e.actor_id, e.reason) for e in combined] == [(demo.staff["police_officer"], "not_linked")]


def test_the_processing_activity_narrows_to_the_events_that_served_it(runtime, demo, http):
    """Art. 15: the trail is read by the register's activities, as Logboek Dataverwerkingen links them."""
    police_tries(runtime, demo, http)
    officer = demo.staff["privacy_officer"]
    housing = runtime.covenant.activity_of("housing")
    act(runtime, demo.staff["client_manager"], lambda tx: records_service.list_entries(
        tx, uuid.UUID(demo.clients[0]), purpose="housing"))
    served = review(runtime, officer, activity=housing)
    assert served and {e.activity for e in served} == {housing}
    assert {e.actor_id for e in served} == {demo.staff["client_manager"]}
    police = runtime.covenant.activity_of("nuisance_reduction")
    denied = review(runtime, officer, activity=police, outcome="deny")
    assert [(e.actor_id, e.reason) for e in denied] == [(demo.staff["police_officer"], "not_linked")]
    assert review(runtime, officer, activity="demo-region:no_such_purpose") == []
    event = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert event.outcome == Outcome.PERMIT and event.detail["returned"] == 0


@pytest.mark.parametrize("filters", [{"action": "record.steal"}, {"outcome": "maybe"},
                                     {"activity": "demo region:housing"}, {"activity": ":housing"}])
def test_an_unknown_action_or_outcome_is_a_bad_request(runtime, demo, filters):
    with pytest.raises(BadRequest):
        review(runtime, demo.staff["privacy_officer"], **filters)
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "query_invalid"


def test_a_privacy_officer_of_another_party_asks_only_about_their_own(runtime, demo, clock):
    officer_id = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**staff_row(
            staff_id=officer_id, party=demo.parties["shelter"], handle="shelter.privacy", roles=["privacy_officer"],
            now=clock())))
    own = review(runtime, officer_id, party=demo.parties["shelter"])
    assert own and {e.actor_party for e in own} == {demo.parties["shelter"]}
    with pytest.raises(Forbidden):
        review(runtime, officer_id, party=demo.parties["police"])
    assert last_event(runtime, action=AuditAction.AUDIT_READ).reason == "party_not_own"


def test_an_export_is_recorded_with_its_filter(runtime, demo, http):
    police_tries(runtime, demo, http)
    filters = EventFilter(outcome="deny", party=demo.parties["police"])
    items = act(runtime, demo.staff["privacy_officer"], lambda tx: auditlog_service.export_events(
        tx, purpose="oversight", filters=filters, export_format="csv", limit=3))
    assert items and {e.outcome for e in items} == {"deny"}
    event = last_event(runtime, action=AuditAction.AUDIT_EXPORT)
    assert (event.outcome, event.purpose) == (Outcome.PERMIT, "oversight")
    assert event.detail["filter"] == {"outcome": "deny", "party": demo.parties["police"]}
    assert event.detail["returned"] == len(items)


def test_an_export_by_someone_else_is_refused_and_recorded(runtime, demo):
    with pytest.raises(Forbidden):
        act(runtime, demo.staff["police_officer"], lambda tx: auditlog_service.export_events(
            tx, purpose="oversight", filters=EventFilter(), export_format="json"))
    event = last_event(runtime, action=AuditAction.AUDIT_EXPORT)
    assert (event.outcome, event.reason) == (Outcome.DENY, "role_not_for_purpose")


def test_the_api_takes_the_filters(runtime, demo, http, clock):
    police_tries(runtime, demo, http)
    bearer = token(runtime, demo.staff["privacy_officer"])
    response = http.get("/v1/audit/events", headers=auth(bearer, "oversight"), params={
        "party": demo.parties["police"], "outcome": "deny", "action": "record.list",
        "occurred_from": clock().isoformat(), "occurred_until": (clock() + dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 200
    assert [(e["actor_id"], e["reason"]) for e in response.json()] == [(demo.staff["police_officer"], "not_linked")]
    naive = http.get("/v1/audit/events", headers=auth(bearer, "oversight"), params={"occurred_from": "2026-11-23T09:00"})
    assert naive.status_code == 422
    activity = runtime.covenant.activity_of("nuisance_reduction")
    served = http.get("/v1/audit/events", headers=auth(bearer, "oversight"), params={"activity": activity})
    assert served.status_code == 200 and served.json()
    assert {e["activity"] for e in served.json()} == {activity}
    bad = http.get("/v1/audit/events", headers=auth(bearer, "oversight"), params={"activity": "no spaces"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "query_invalid"
