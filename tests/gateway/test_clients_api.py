"""The client register over HTTP on loopback: registering, listing and reading clients, the auth
matrix of each route, and the trail."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from audit import AuditAction, Outcome
from gateway.clients.models import Client, ClientStatus
from tests.gateway.helpers import auth, end_link, events, last_event, link, register_client, token

PROBLEM = "application/problem+json"
BSN = "111222333"  # passes the eleven test; fictional
OTHER_BSN = "123456782"


@pytest.fixture
def cast(demo):
    return demo


@pytest.fixture
def client_id(cast):
    return cast.clients[0]


def manage(runtime, cast, member="client_manager", purpose="case_management"):
    return auth(token(runtime, cast.staff[member]), purpose)


def client_count(runtime) -> int:
    with runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Client))


def without_instance(response) -> dict:
    return {key: value for key, value in response.json().items() if key != "instance"}


# --- POST /v1/clients -------------------------------------------------------------------------------------

def test_registering_needs_a_token(runtime, http, cast):
    before = client_count(runtime)
    response = http.post("/v1/clients", json={}, headers={"X-Purpose": "case_management"})
    assert response.status_code == 401 and response.headers["content-type"] == PROBLEM
    event = last_event(runtime, action=AuditAction.AUTH_REJECTED)
    assert (event.reason, event.access_point) == ("token_missing", "POST /v1/clients")
    assert client_count(runtime) == before


@pytest.mark.parametrize("member,scopes,purpose,reason", [
    ("client_manager", {"records:read", "records:write"}, "case_management", "scope_missing"),
    ("field_director", {"records:read"}, "case_management", "scope_missing"),
    ("ggz_worker", None, "case_management", "scope_missing"),  # staff do not get team:manage
    ("ggz_worker", {"team:manage"}, "case_management", "role_not_for_purpose"),
    ("privacy_officer", {"team:manage"}, "case_management", "role_not_for_purpose"),
    ("client_manager", None, "wellbeing", "purpose_not_for_action"),
])
def test_only_client_managers_and_field_directors_register_for_case_management(runtime, http, cast, member, scopes,
                                                                               purpose, reason):
    before = client_count(runtime)
    response = http.post("/v1/clients", json={"bsn": BSN},
                         headers=auth(token(runtime, cast.staff[member], scopes=scopes), purpose))
    assert response.status_code == 403
    assert response.json()["reason"] == reason
    assert BSN not in response.text
    event = last_event(runtime, action=AuditAction.CLIENT_REGISTER)
    assert (event.outcome, event.reason, event.actor_id) == (Outcome.DENY, reason, cast.staff[member])
    assert client_count(runtime) == before


def test_a_client_manager_registers_a_client_and_becomes_their_client_manager(runtime, http, cast, clock):
    informed = clock() - dt.timedelta(days=1)
    response = http.post("/v1/clients", json={"bsn": BSN, "informed_at": informed.isoformat()},
                         headers=manage(runtime, cast))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "pseudonym"} and body["pseudonym"].startswith("CL-")
    assert response.headers["location"] == f"/v1/clients/{body['id']}"

    registered = last_event(runtime, action=AuditAction.CLIENT_REGISTER)
    assert (registered.outcome, registered.authority, registered.object_id, registered.client_pseudonym,
            registered.purpose) == (Outcome.PERMIT, "role:client_manager", body["id"], body["pseudonym"],
                                    "case_management")
    joined = last_event(runtime, action=AuditAction.LINK_GRANT)
    assert (joined.outcome, joined.authority, joined.client_pseudonym) == (
        Outcome.PERMIT, "client.register", body["pseudonym"])

    summary = http.get(response.headers["location"], headers=auth(token(runtime, cast.staff["client_manager"])))
    assert summary.status_code == 200
    read = summary.json()
    assert (read["id"], read["pseudonym"], read["status"], read["client_manager_id"]) == (
        body["id"], body["pseudonym"], ClientStatus.ACTIVE, cast.staff["client_manager"])
    assert dt.datetime.fromisoformat(read["informed_at"]) == informed
    assert dt.datetime.fromisoformat(read["linked_since"]) == clock()
    assert read["linked_until"] is None and read["last_contact_at"] is None
    assert BSN not in response.text + summary.text
    assert all(BSN not in str(vars(event)) for event in events(runtime))


def test_a_field_director_registers_a_client_without_becoming_its_client_manager(runtime, http, cast):
    response = http.post("/v1/clients", json={}, headers=manage(runtime, cast, "field_director"))
    assert response.status_code == 201, response.text
    new_client = response.json()["id"]
    assert last_event(runtime, action=AuditAction.CLIENT_REGISTER).authority == "role:field_director"
    summary = http.get(f"/v1/clients/{new_client}", headers=manage(runtime, cast, "field_director"))
    assert summary.status_code == 200
    assert summary.json()["client_manager_id"] is None and summary.json()["linked_since"] is None
    manager = http.get(f"/v1/clients/{new_client}", headers=auth(token(runtime, cast.staff["client_manager"])))
    assert manager.status_code == 403 and manager.json()["reason"] == "not_linked"


@pytest.mark.parametrize("bsn", ["111222334", "12345678", "11122233X", "000000000"])
def test_an_invalid_bsn_is_422_naming_the_field_not_the_value(runtime, http, cast, bsn):
    before = client_count(runtime)
    response = http.post("/v1/clients", json={"bsn": bsn}, headers=manage(runtime, cast))
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == ["bsn"]
    assert bsn not in response.text
    event = last_event(runtime, action=AuditAction.CLIENT_REGISTER)
    assert (event.outcome, event.reason) == (Outcome.DENY, "bsn_invalid")
    assert client_count(runtime) == before


def test_a_bsn_registered_before_is_409_and_registers_nothing(runtime, http, cast):
    first = http.post("/v1/clients", json={"bsn": BSN}, headers=manage(runtime, cast))
    assert first.status_code == 201
    before = client_count(runtime)
    again = http.post("/v1/clients", json={"bsn": BSN}, headers=manage(runtime, cast, "field_director"))
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert BSN not in again.text
    event = last_event(runtime, action=AuditAction.CLIENT_REGISTER)
    assert (event.outcome, event.reason, event.actor_id) == (Outcome.ERROR, "conflict", cast.staff["field_director"])
    assert client_count(runtime) == before
    other = http.post("/v1/clients", json={"bsn": OTHER_BSN}, headers=manage(runtime, cast))
    assert other.status_code == 201


@pytest.mark.parametrize("body,field,reason", [
    ({"informed_at": "2099-01-01T00:00:00+00:00"}, "informed_at", "informed_at_invalid"),
    ({"informed_at": "2026-11-01T10:00:00"}, "body.informed_at", "request_invalid"),  # no time zone
    ({"bsn": BSN, "name": "SECRET-VALUE"}, "body.name", "request_invalid"),
    ({"bsn": 111222333}, "body.bsn", "request_invalid"),
])
def test_other_bad_registrations_are_422_and_register_nothing(runtime, http, cast, body, field, reason):
    before = client_count(runtime)
    response = http.post("/v1/clients", json=body, headers=manage(runtime, cast))
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert "SECRET-VALUE" not in response.text and BSN not in response.text
    action = AuditAction.REQUEST_REJECTED if reason == "request_invalid" else AuditAction.CLIENT_REGISTER
    assert last_event(runtime, action=action).reason == reason
    assert client_count(runtime) == before


# --- GET /v1/clients ---------------------------------------------------------------------------------------

def test_listing_needs_a_token_and_the_read_scope(runtime, http, cast):
    assert http.get("/v1/clients", headers={"X-Purpose": "wellbeing"}).status_code == 401
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).access_point == "GET /v1/clients"
    refused = http.get("/v1/clients", headers=auth(token(runtime, cast.staff["client_manager"],
                                                         scopes={"team:manage", "records:write"})))
    assert refused.status_code == 403 and refused.json()["reason"] == "scope_missing"
    event = last_event(runtime, action=AuditAction.CLIENT_LIST)
    assert (event.outcome, event.reason) == (Outcome.DENY, "scope_missing")
    statistics = http.get("/v1/clients", headers=manage(runtime, cast, "field_director", "statistics"))
    assert statistics.status_code == 403 and statistics.json()["reason"] == "purpose_not_for_action"


def test_staff_list_only_the_clients_they_are_linked_to(runtime, http, cast, client_id):
    unlinked_client = register_client(runtime, cast.staff["field_director"])
    for member, expected in (("client_manager", [client_id]), ("ggz_worker", [client_id]), ("police_officer", [])):
        response = http.get("/v1/clients", headers=auth(token(runtime, cast.staff[member])))
        assert response.status_code == 200, member
        assert [item["id"] for item in response.json()] == expected, member
        assert str(unlinked_client) not in response.text
        event = last_event(runtime, action=AuditAction.CLIENT_LIST, actor_id=cast.staff[member])
        assert (event.outcome, event.authority, event.client_pseudonym) == (Outcome.PERMIT, "care_links:own", None)
        assert event.detail["scope"] == "own_links"
        assert event.detail["returned"] == len(expected) == len(event.detail["clients"])
    [item] = http.get("/v1/clients", headers=auth(token(runtime, cast.staff["ggz_worker"]))).json()
    assert item["pseudonym"].startswith("CL-") and item["linked_since"] is not None
    assert item["client_manager_id"] == cast.staff["client_manager"]
    assert item["status"] == "active" and item["informed_at"] is not None


def test_the_field_director_lists_the_whole_register(runtime, http, cast, client_id):
    others = {str(register_client(runtime, cast.staff["client_manager"])) for _ in range(2)}
    response = http.get("/v1/clients", headers=manage(runtime, cast, "field_director"))
    assert response.status_code == 200
    assert {item["id"] for item in response.json()} == others | {client_id}
    assert all(item["linked_since"] is None for item in response.json())
    event = last_event(runtime, action=AuditAction.CLIENT_LIST)
    assert (event.authority, event.detail["scope"], event.detail["returned"]) == ("role:field_director", "register", 3)
    assert sorted(event.detail["clients"]) == sorted(item["pseudonym"] for item in response.json())


def test_a_member_whose_link_ended_no_longer_lists_the_client(runtime, http, cast, client_id, clock):
    link_id = link(runtime, cast, "police_officer")
    police = auth(token(runtime, cast.staff["police_officer"]), "nuisance_reduction")
    assert [item["id"] for item in http.get("/v1/clients", headers=police).json()] == [client_id]
    clock.advance(dt.timedelta(minutes=5))
    end_link(runtime, cast, link_id)
    assert http.get("/v1/clients", headers=police).json() == []


def test_pages_follow_the_link_header(runtime, http, cast, client_id):
    registered = {str(register_client(runtime, cast.staff["client_manager"])) for _ in range(4)}
    bearer = auth(token(runtime, cast.staff["client_manager"]))
    seen, url, pages = [], "/v1/clients?limit=2", 0
    while url:
        response = http.get(url, headers=bearer)
        assert response.status_code == 200
        assert len(response.json()) <= 2
        seen += [item["id"] for item in response.json()]
        pages += 1
        url = response.headers["link"].split(";")[0].strip("<>") if "link" in response.headers else None
        if url:
            assert response.headers["link"].endswith('; rel="next"')
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5 and set(seen) == registered | {client_id}
    assert [e.detail["returned"] for e in events(runtime, action=AuditAction.CLIENT_LIST)][-3:] == [2, 2, 1]


@pytest.mark.parametrize("cursor", ["bm9wZQ", "not base64 at all", "MjAyNi0xMS0yM1QwOTowMDowMHwx"])
def test_a_cursor_the_gateway_did_not_give_out_is_400(runtime, http, cast, cursor):
    response = http.get("/v1/clients", params={"cursor": cursor}, headers=auth(token(runtime, cast.staff["client_manager"])))
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    event = last_event(runtime, action=AuditAction.REQUEST_REJECTED)
    assert (event.reason, event.actor_id) == ("cursor_invalid", cast.staff["client_manager"])


def test_a_page_size_outside_the_limits_is_422(runtime, http, cast):
    bearer = auth(token(runtime, cast.staff["client_manager"]))
    assert http.get("/v1/clients", params={"limit": 0}, headers=bearer).status_code == 422
    assert http.get("/v1/clients", params={"limit": 101}, headers=bearer).status_code == 422


# --- GET /v1/clients/{client_id} ---------------------------------------------------------------------------

def test_reading_a_client_needs_a_token_and_the_read_scope(runtime, http, cast, client_id):
    assert http.get(f"/v1/clients/{client_id}", headers={"X-Purpose": "wellbeing"}).status_code == 401
    refused = http.get(f"/v1/clients/{client_id}",
                       headers=auth(token(runtime, cast.staff["client_manager"], scopes={"records:write"})))
    assert refused.status_code == 403 and refused.json()["reason"] == "scope_missing"
    event = last_event(runtime, action=AuditAction.CLIENT_READ)
    assert (event.outcome, event.reason, event.object_id) == (Outcome.DENY, "scope_missing", client_id)


def test_the_unlinked_learn_nothing_not_even_whether_the_client_exists(runtime, http, cast, client_id):
    for member, purpose in (("police_officer", "nuisance_reduction"), ("privacy_officer", "subject_rights")):
        bearer = auth(token(runtime, cast.staff[member]), purpose)
        existing = http.get(f"/v1/clients/{client_id}", headers=bearer)
        unknown = http.get(f"/v1/clients/{uuid.uuid4()}", headers=bearer)
        assert existing.status_code == unknown.status_code == 403, member
        assert existing.json()["reason"] == "not_linked"
        assert without_instance(existing) == without_instance(unknown), member
        denied = events(runtime, action=AuditAction.CLIENT_READ, actor_id=cast.staff[member])
        assert [(e.outcome, e.reason) for e in denied] == [(Outcome.DENY, "not_linked"),
                                                           (Outcome.DENY, "client_unknown")]


def test_the_field_director_reads_any_client_and_hears_of_an_unknown_one(runtime, http, cast, client_id):
    director = manage(runtime, cast, "field_director")
    assert http.get(f"/v1/clients/{uuid.uuid4()}", headers=director).status_code == 404
    found = http.get(f"/v1/clients/{client_id}", headers=director)
    assert found.status_code == 200 and found.json()["id"] == client_id
    event = last_event(runtime, action=AuditAction.CLIENT_READ)
    assert (event.outcome, event.authority) == (Outcome.PERMIT, "role:field_director")


def test_linked_staff_read_the_clients_summary(runtime, http, cast, client_id):
    response = http.get(f"/v1/clients/{client_id}", headers=auth(token(runtime, cast.staff["ggz_worker"])))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "pseudonym", "status", "informed_at", "client_manager_id", "registered_at",
                         "last_contact_at", "linked_since", "linked_until"}
    assert body["last_contact_at"] is not None  # the demo recorded a contact (art. 9.3)
    event = last_event(runtime, action=AuditAction.CLIENT_READ)
    assert (event.outcome, event.client_pseudonym, event.purpose) == (Outcome.PERMIT, body["pseudonym"], "wellbeing")
    assert event.authority.startswith("care_link:")


def test_after_an_objection_the_linked_still_see_why_the_file_is_refused(runtime, http, cast, client_id):
    with runtime.writer_engine.begin() as conn:
        conn.execute(Client.__table__.update().where(Client.id == uuid.UUID(client_id))
                     .values(status=ClientStatus.PROCESSING_STOPPED))
    bearer = auth(token(runtime, cast.staff["client_manager"]))
    assert http.get(f"/v1/clients/{client_id}", headers=bearer).json()["status"] == "processing_stopped"
    assert http.get(f"/v1/clients/{client_id}/entries", headers=bearer).status_code == 403
    police = http.get(f"/v1/clients/{client_id}", headers=auth(token(runtime, cast.staff["police_officer"])))
    assert police.json()["reason"] == "not_linked"


def test_a_malformed_client_id_is_422_without_echo(runtime, http, cast):
    response = http.get("/v1/clients/111222333", headers=auth(token(runtime, cast.staff["client_manager"])))
    assert response.status_code == 422 and "111222333" not in response.text
