"""A client's care team over HTTP on loopback: reading it, linking and ending links (Instrument 2),
the auth matrix of each route, and the trail."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from audit import AuditAction, Outcome
from gateway.care.models import CareLink
from gateway.care.service import MAX_REASON
from tests.gateway.helpers import auth, events, last_event, link, token
from tests.gateway.test_care_team import add_staff

PROBLEM = "application/problem+json"
SECRET = "SECRET-REASON"


@pytest.fixture
def cast(demo):
    return demo


@pytest.fixture
def client_id(cast):
    return cast.clients[0]


def team_url(client_id, link_id=None, *, end=False):
    return f"/v1/clients/{client_id}/team" + (f"/{link_id}" if link_id else "") + ("/end" if end else "")


def manage(runtime, cast, member="client_manager", scopes=None):
    return auth(token(runtime, cast.staff[member], scopes=scopes), "case_management")


def grant_body(cast, member="police_officer", **extra):
    return {"staff_id": cast.staff[member], "reason": "case conference on nuisance", **extra}


def link_rows(runtime) -> list[tuple]:
    with runtime.session() as session:
        return [tuple(row) for row in session.execute(
            select(CareLink.id, CareLink.until, CareLink.ended_by, CareLink.end_reason).order_by(CareLink.id))]


def without_instance(response) -> dict:
    return {key: value for key, value in response.json().items() if key != "instance"}


# --- GET /v1/clients/{client_id}/team ----------------------------------------------------------------------

def test_reading_the_team_needs_a_token_and_the_read_scope(runtime, http, cast, client_id):
    response = http.get(team_url(client_id), headers={"X-Purpose": "wellbeing"})
    assert response.status_code == 401 and response.headers["content-type"] == PROBLEM
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).access_point == "GET /v1/clients/{client_id}/team"
    refused = http.get(team_url(client_id), headers=manage(runtime, cast, scopes={"team:manage"}))
    assert refused.status_code == 403 and refused.json()["reason"] == "scope_missing"
    event = last_event(runtime, action=AuditAction.TEAM_READ)
    assert (event.outcome, event.reason, event.object_id) == (Outcome.DENY, "scope_missing", client_id)


def test_the_unlinked_learn_nothing_of_the_team_not_even_whether_the_client_exists(runtime, http, cast, client_id):
    bearer = auth(token(runtime, cast.staff["police_officer"]), "nuisance_reduction")
    existing = http.get(team_url(client_id), headers=bearer)
    unknown = http.get(team_url(uuid.uuid4()), headers=bearer)
    assert existing.status_code == unknown.status_code == 403
    assert existing.json()["reason"] == "not_linked"
    assert without_instance(existing) == without_instance(unknown)
    assert "Rivierland" not in existing.text
    denied = events(runtime, action=AuditAction.TEAM_READ, actor_id=cast.staff["police_officer"])
    assert [e.reason for e in denied] == ["not_linked", "client_unknown"]


def test_the_field_director_reads_any_team_and_hears_of_an_unknown_client(runtime, http, cast, client_id):
    director = manage(runtime, cast, "field_director")
    assert http.get(team_url(uuid.uuid4()), headers=director).status_code == 404
    response = http.get(team_url(client_id), headers=director)
    assert response.status_code == 200 and len(response.json()) == 2
    assert last_event(runtime, action=AuditAction.TEAM_READ).authority == "role:field_director"


def test_a_linked_member_sees_who_is_on_the_team_but_not_why(runtime, http, cast, client_id):
    response = http.get(team_url(client_id), headers=auth(token(runtime, cast.staff["ggz_worker"])))
    assert response.status_code == 200
    by_member = {item["staff_id"]: item for item in response.json()}  # both began at the demo's one moment
    manager, ggz = by_member[cast.staff["client_manager"]], by_member[cast.staff["ggz_worker"]]
    assert (manager["staff_id"], manager["party"], manager["granted_by"], manager["reason"]) == (
        cast.staff["client_manager"], cast.parties["shelter"], cast.staff["client_manager"], None)
    assert (ggz["staff_id"], ggz["party"], ggz["active"], ggz["until"], ggz["ended_by"], ggz["end_reason"]) == (
        cast.staff["ggz_worker"], cast.parties["mental_health"], True, None, None, None)
    assert ggz["reason"] is None  # free text that may reveal special data: for the team's managers only
    assert "Rivierland" not in response.text
    managed = http.get(team_url(client_id), headers=auth(token(runtime, cast.staff["client_manager"])))
    reasons = {item["staff_id"]: item["reason"] for item in managed.json()}
    assert reasons[cast.staff["client_manager"]] == "registered the client as client manager"
    assert reasons[cast.staff["ggz_worker"]].startswith("GGZ Rivierland does the psychiatric assessment")
    event = last_event(runtime, action=AuditAction.TEAM_READ)
    assert (event.outcome, event.object_type, event.object_id) == (Outcome.PERMIT, "client", client_id)
    assert event.authority.startswith("care_link:") and event.client_pseudonym.startswith("CL-")
    assert "Rivierland" not in str(event.detail)


# --- POST /v1/clients/{client_id}/team ---------------------------------------------------------------------

def test_linking_needs_a_token(runtime, http, cast, client_id):
    before = link_rows(runtime)
    response = http.post(team_url(client_id), json=grant_body(cast), headers={"X-Purpose": "case_management"})
    assert response.status_code == 401
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "token_missing"
    assert link_rows(runtime) == before


@pytest.mark.parametrize("member,scopes,purpose,reason", [
    ("client_manager", {"records:read", "records:write"}, "case_management", "scope_missing"),
    ("field_director", {"records:read"}, "case_management", "scope_missing"),
    ("ggz_worker", {"team:manage"}, "case_management", "role_not_for_purpose"),  # linked, but no client manager
    ("client_manager", None, "wellbeing", "purpose_not_for_action"),
])
def test_linking_is_refused_without_the_scope_role_or_purpose(runtime, http, cast, client_id, member, scopes,
                                                              purpose, reason):
    before = link_rows(runtime)
    response = http.post(team_url(client_id), json=grant_body(cast),
                         headers=auth(token(runtime, cast.staff[member], scopes=scopes), purpose))
    assert response.status_code == 403 and response.json()["reason"] == reason
    event = last_event(runtime, action=AuditAction.LINK_GRANT)
    assert (event.outcome, event.reason, event.actor_id) == (Outcome.DENY, reason, cast.staff[member])
    assert link_rows(runtime) == before


def test_another_client_manager_who_is_not_linked_learns_nothing_of_the_client(runtime, http, cast, client_id,
                                                                               clock):
    stranger = add_staff(runtime, clock, cast.parties["shelter"], "client_manager")
    bearer = auth(token(runtime, stranger), "case_management")
    before = link_rows(runtime)
    existing = http.post(team_url(client_id), json=grant_body(cast), headers=bearer)
    unknown = http.post(team_url(uuid.uuid4()), json=grant_body(cast), headers=bearer)
    assert existing.status_code == unknown.status_code == 403
    assert existing.json()["reason"] == "not_linked"
    assert without_instance(existing) == without_instance(unknown)
    assert [e.reason for e in events(runtime, action=AuditAction.LINK_GRANT, actor_id=str(stranger))] == [
        "not_linked", "client_unknown"]
    assert link_rows(runtime) == before


def test_the_field_director_hears_that_a_client_does_not_exist(runtime, http, cast):
    response = http.post(team_url(uuid.uuid4()), json=grant_body(cast), headers=manage(runtime, cast, "field_director"))
    assert response.status_code == 404
    assert last_event(runtime, action=AuditAction.LINK_GRANT).reason == "client_unknown"


def test_the_client_manager_links_a_partner_who_then_reads_the_file(runtime, http, cast, client_id, clock):
    police = auth(token(runtime, cast.staff["police_officer"]), "nuisance_reduction")
    assert http.get(f"/v1/clients/{client_id}/entries", headers=police).status_code == 403
    until = clock() + dt.timedelta(days=30)
    response = http.post(team_url(client_id), json=grant_body(cast, until=until.isoformat()),
                         headers=manage(runtime, cast))
    assert response.status_code == 201, response.text
    link_id = response.json()["id"]
    assert response.headers["location"] == team_url(client_id, link_id)
    event = last_event(runtime, action=AuditAction.LINK_GRANT)
    assert (event.outcome, event.object_type, event.object_id, event.detail, event.purpose) == (
        Outcome.PERMIT, "care_link", link_id, {"member": cast.staff["police_officer"]}, "case_management")
    assert event.authority.startswith("care_link:")
    assert "nuisance" not in str(event.detail)

    assert http.get(f"/v1/clients/{client_id}/entries", headers=police).status_code == 200
    read = http.get(response.headers["location"], headers=police)
    assert read.status_code == 200
    assert (read.json()["reason"], read.json()["party"], dt.datetime.fromisoformat(read.json()["until"])) == (
        None, cast.parties["police"], until)
    assert last_event(runtime, action=AuditAction.TEAM_READ).object_id == link_id
    with runtime.session() as session:
        sealed = session.get(CareLink, uuid.UUID(link_id)).reason
    assert b"nuisance" not in sealed  # encrypted with the client's key


def test_the_field_director_links_a_partner(runtime, http, cast, client_id):
    response = http.post(team_url(client_id), json=grant_body(cast), headers=manage(runtime, cast, "field_director"))
    assert response.status_code == 201
    event = last_event(runtime, action=AuditAction.LINK_GRANT)
    assert (event.outcome, event.authority, event.actor_id) == (
        Outcome.PERMIT, "role:field_director", cast.staff["field_director"])


def test_a_member_already_linked_is_409(runtime, http, cast, client_id):
    before = link_rows(runtime)
    response = http.post(team_url(client_id), json=grant_body(cast, "ggz_worker"), headers=manage(runtime, cast))
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    event = last_event(runtime, action=AuditAction.LINK_GRANT)
    assert (event.outcome, event.reason) == (Outcome.ERROR, "conflict")
    assert link_rows(runtime) == before


def test_a_reason_longer_than_the_limit_is_422_and_writes_nothing(runtime, http, cast, client_id):
    before = link_rows(runtime)
    permitted = len(events(runtime, action=AuditAction.LINK_GRANT, outcome=Outcome.PERMIT))
    reason = SECRET + "x" * MAX_REASON
    response = http.post(team_url(client_id), json=grant_body(cast, reason=reason), headers=manage(runtime, cast))
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == ["body.reason"]
    assert SECRET not in response.text
    event = last_event(runtime, action=AuditAction.REQUEST_REJECTED)
    assert (event.reason, event.actor_id) == ("request_invalid", cast.staff["client_manager"])
    assert link_rows(runtime) == before
    assert len(events(runtime, action=AuditAction.LINK_GRANT, outcome=Outcome.PERMIT)) == permitted
    exactly = http.post(team_url(client_id), json=grant_body(cast, reason="x" * MAX_REASON),
                        headers=manage(runtime, cast))
    assert exactly.status_code == 201


@pytest.mark.parametrize("change,field,action,reason", [
    ({"reason": "   "}, "reason", AuditAction.LINK_GRANT, "reason_invalid"),
    ({"reason": ""}, "body.reason", AuditAction.REQUEST_REJECTED, "request_invalid"),
    ({"staff_id": str(uuid.uuid4())}, "staff_id", AuditAction.LINK_GRANT, "invalid-content"),
    ({"until": "2020-01-01T00:00:00+00:00"}, "until", AuditAction.LINK_GRANT, "invalid-content"),
    ({"until": "2099-01-01T00:00:00"}, "body.until", AuditAction.REQUEST_REJECTED, "request_invalid"),
    ({"staff_id": "111222333"}, "body.staff_id", AuditAction.REQUEST_REJECTED, "request_invalid"),
    ({"note": SECRET}, "body.note", AuditAction.REQUEST_REJECTED, "request_invalid"),
])
def test_other_bad_grants_are_422_and_write_nothing(runtime, http, cast, client_id, change, field, action, reason):
    before = link_rows(runtime)
    response = http.post(team_url(client_id), json={**grant_body(cast), **change}, headers=manage(runtime, cast))
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert SECRET not in response.text and "111222333" not in response.text
    assert last_event(runtime, action=action).reason == reason
    assert link_rows(runtime) == before


# --- POST /v1/clients/{client_id}/team/{link_id}/end -------------------------------------------------------

@pytest.fixture
def police_link(runtime, cast, clock):
    link_id = link(runtime, cast, "police_officer")
    clock.advance(dt.timedelta(minutes=5))
    return str(link_id)


def test_ending_needs_a_token_and_the_manage_scope(runtime, http, cast, client_id, police_link):
    before = link_rows(runtime)
    assert http.post(team_url(client_id, police_link, end=True), json={"reason": "done"},
                     headers={"X-Purpose": "case_management"}).status_code == 401
    refused = http.post(team_url(client_id, police_link, end=True), json={"reason": "done"},
                        headers=manage(runtime, cast, scopes={"records:read", "records:write"}))
    assert refused.status_code == 403 and refused.json()["reason"] == "scope_missing"
    event = last_event(runtime, action=AuditAction.LINK_END)
    assert (event.outcome, event.reason, event.object_id) == (Outcome.DENY, "scope_missing", police_link)
    assert link_rows(runtime) == before


def test_ending_is_refused_to_the_unlinked_alike_for_an_unknown_client(runtime, http, cast, client_id, police_link,
                                                                      clock):
    stranger = auth(token(runtime, add_staff(runtime, clock, cast.parties["shelter"], "client_manager")),
                    "case_management")
    before = link_rows(runtime)
    existing = http.post(team_url(client_id, police_link, end=True), json={"reason": "done"}, headers=stranger)
    unknown = http.post(team_url(uuid.uuid4(), police_link, end=True), json={"reason": "done"}, headers=stranger)
    assert existing.status_code == unknown.status_code == 403
    assert without_instance(existing) == without_instance(unknown)
    partner = http.post(team_url(client_id, police_link, end=True), json={"reason": "done"},
                        headers=manage(runtime, cast, "ggz_worker", scopes={"team:manage"}))
    assert partner.status_code == 403 and partner.json()["reason"] == "role_not_for_purpose"
    director = manage(runtime, cast, "field_director")
    assert http.post(team_url(uuid.uuid4(), police_link, end=True), json={"reason": "done"},
                     headers=director).status_code == 404
    assert http.post(team_url(client_id, uuid.uuid4(), end=True), json={"reason": "done"},
                     headers=director).status_code == 404
    assert link_rows(runtime) == before


def test_ending_a_link_refuses_the_member_the_file_from_that_moment(runtime, http, cast, client_id, police_link,
                                                                    clock):
    police = auth(token(runtime, cast.staff["police_officer"]), "nuisance_reduction")
    assert http.get(f"/v1/clients/{client_id}/entries", headers=police).status_code == 200
    response = http.post(team_url(client_id, police_link, end=True), json={"reason": "case closed"},
                         headers=manage(runtime, cast))
    assert response.status_code == 200, response.text
    ended = response.json()
    assert (ended["id"], ended["active"], ended["ended_by"], ended["end_reason"], ended["reason"]) == (
        police_link, False, cast.staff["client_manager"], "case closed", "asked for their records")
    assert dt.datetime.fromisoformat(ended["until"]) == clock()
    event = last_event(runtime, action=AuditAction.LINK_END)
    assert (event.outcome, event.object_type, event.object_id, event.actor_id) == (
        Outcome.PERMIT, "care_link", police_link, cast.staff["client_manager"])
    assert "case closed" not in str(event.detail)

    for url in (f"/v1/clients/{client_id}/entries", f"/v1/clients/{client_id}", team_url(client_id)):
        refused = http.get(url, headers=police)
        assert refused.status_code == 403 and refused.json()["reason"] == "not_linked", url
    assert last_event(runtime, action=AuditAction.TEAM_READ).reason == "link_ended"
    team = http.get(team_url(client_id), headers=auth(token(runtime, cast.staff["ggz_worker"]))).json()
    [history] = [item for item in team if item["id"] == police_link]
    assert history == {**ended, "reason": None, "end_reason": None}  # the why is for the team's managers

    again = http.post(team_url(client_id, police_link, end=True), json={"reason": "twice"},
                      headers=manage(runtime, cast))
    assert again.status_code == 409
    assert last_event(runtime, action=AuditAction.LINK_END).outcome == Outcome.ERROR


def test_the_field_director_ends_a_link(runtime, http, cast, client_id, police_link):
    response = http.post(team_url(client_id, police_link, end=True), json={"reason": "done"},
                         headers=manage(runtime, cast, "field_director"))
    assert response.status_code == 200 and response.json()["ended_by"] == cast.staff["field_director"]
    assert last_event(runtime, action=AuditAction.LINK_END).authority == "role:field_director"


@pytest.mark.parametrize("body,field,action,reason", [
    ({"reason": SECRET + "x" * MAX_REASON}, "body.reason", AuditAction.REQUEST_REJECTED, "request_invalid"),
    ({"reason": "  "}, "reason", AuditAction.LINK_END, "reason_invalid"),
    ({}, "body.reason", AuditAction.REQUEST_REJECTED, "request_invalid"),
])
def test_a_bad_end_reason_is_422_and_ends_nothing(runtime, http, cast, client_id, police_link, body, field, action,
                                                  reason):
    before = link_rows(runtime)
    response = http.post(team_url(client_id, police_link, end=True), json=body, headers=manage(runtime, cast))
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert SECRET not in response.text
    assert last_event(runtime, action=action).reason == reason
    assert link_rows(runtime) == before
    police = auth(token(runtime, cast.staff["police_officer"]), "nuisance_reduction")
    assert http.get(f"/v1/clients/{client_id}/entries", headers=police).status_code == 200


def test_a_link_of_another_client_is_not_found_through_this_one(runtime, http, cast, client_id):
    other = http.post("/v1/clients", json={}, headers=manage(runtime, cast)).json()["id"]
    other_link = http.post(team_url(other), json=grant_body(cast), headers=manage(runtime, cast)).json()["id"]
    before = link_rows(runtime)
    bearer = manage(runtime, cast)
    assert http.get(team_url(client_id, other_link), headers=bearer).status_code == 404
    assert http.post(team_url(client_id, other_link, end=True), json={"reason": "x"}, headers=bearer).status_code == 404
    assert link_rows(runtime) == before
