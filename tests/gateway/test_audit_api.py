"""Privacy officers review the trail over HTTP; nobody else does; the review is itself recorded."""

from __future__ import annotations

import uuid

import pytest

from audit import AuditAction, Outcome
from gateway.parties.models import Staff
from gateway.parties.service import staff_row
from tests.gateway.helpers import auth, events, last_event, token


def review(http, bearer, purpose="oversight", **params):
    return http.get("/v1/audit/events", params=params, headers=auth(bearer, purpose))


def test_the_privacy_officer_sees_who_tried_to_see_the_client(runtime, demo, http):
    client = demo.clients[0]
    police = token(runtime, demo.staff["police_officer"])
    http.get(f"/v1/clients/{client}/entries", headers=auth(police, "nuisance_reduction"))
    response = review(http, token(runtime, demo.staff["privacy_officer"]), client_id=client)
    assert response.status_code == 200
    items = response.json()
    assert items[0]["actor_id"] == demo.staff["police_officer"]
    assert (items[0]["outcome"], items[0]["reason"]) == ("deny", "not_linked")
    assert [item["seq"] for item in items] == sorted((item["seq"] for item in items), reverse=True)
    assert {item["client_pseudonym"] for item in items} == {items[0]["client_pseudonym"]}
    assert len(items[0]["hash"]) == 64
    own = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (own.outcome, own.actor_id, own.purpose) == (Outcome.PERMIT, demo.staff["privacy_officer"], "oversight")
    assert own.detail == {"returned": len(items), "scope": "all"}


def test_pages_are_linked_and_by_pseudonym_too(runtime, demo, http):
    bearer = token(runtime, demo.staff["privacy_officer"])
    first = review(http, bearer, client_id=demo.clients[0], limit=2)
    assert len(first.json()) == 2 and 'rel="next"' in first.headers["link"]
    second = http.get(first.headers["link"].split(";")[0].strip("<>"), headers=auth(bearer, "oversight"))
    assert second.json()[0]["seq"] < first.json()[-1]["seq"]
    pseudonym = first.json()[0]["client_pseudonym"]
    # Reviewing the trail is itself recorded, so pin the window with `before`.
    by_pseudonym = review(http, bearer, pseudonym=pseudonym, before=first.json()[0]["seq"] + 1, limit=2)
    assert [e["seq"] for e in by_pseudonym.json()] == [e["seq"] for e in first.json()]
    both = review(http, bearer, pseudonym=pseudonym, client_id=demo.clients[0])
    assert both.status_code == 400


@pytest.mark.parametrize("member,purpose,status,reason", [
    ("client_manager", "oversight", 403, "role_not_for_purpose"),
    ("police_officer", "oversight", 403, "role_not_for_purpose"),
    ("privacy_officer", "housing", 403, "purpose_not_for_action"),
])
def test_only_privacy_officers_review_the_trail(runtime, demo, http, member, purpose, status, reason):
    # With the scope in the token, so that the covenant's role rules are what refuses.
    response = review(http, token(runtime, demo.staff[member], scopes={"audit:read"}), purpose,
                      client_id=demo.clients[0])
    assert response.status_code == status
    event = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (event.outcome, event.reason) == (Outcome.DENY, reason)


def test_a_token_without_audit_scope_is_refused(runtime, demo, http):
    bearer = token(runtime, demo.staff["privacy_officer"], scopes={"records:read"})
    assert review(http, bearer).status_code == 403
    assert last_event(runtime, action=AuditAction.AUDIT_READ).reason == "scope_missing"


def test_an_unknown_client_is_404_for_the_privacy_officer(runtime, demo, http):
    response = review(http, token(runtime, demo.staff["privacy_officer"]), client_id=str(uuid.uuid4()))
    assert response.status_code == 404


def test_a_privacy_officer_of_another_party_sees_only_their_own_staff(runtime, demo, http, clock):
    officer_id = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**staff_row(
            staff_id=officer_id, party=demo.parties["shelter"], handle="shelter.privacy",
            roles=["privacy_officer"], now=clock())))
    shelter_officer = token(runtime, officer_id)
    everything = review(http, token(runtime, demo.staff["privacy_officer"]), client_id=demo.clients[0]).json()
    pseudonym = everything[0]["client_pseudonym"]
    items = review(http, shelter_officer, pseudonym=pseudonym).json()
    assert items and {item["actor_party"] for item in items} == {demo.parties["shelter"]}
    assert len(everything) > len(items)
    assert last_event(runtime, action=AuditAction.AUDIT_READ).detail["scope"] == "own_party"


def test_only_the_controllers_privacy_officers_look_clients_up_by_id(runtime, demo, http, clock):
    # Resolving an id would tell whether the client exists, and its pseudonym: the same refusal either way.
    officer_id = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**staff_row(
            staff_id=officer_id, party=demo.parties["police"], handle="police.privacy",
            roles=["privacy_officer"], now=clock())))
    bearer = token(runtime, officer_id)
    known = review(http, bearer, client_id=demo.clients[0])
    unknown = review(http, bearer, client_id=str(uuid.uuid4()))
    for response in (known, unknown):
        assert response.status_code == 403
        assert response.json()["reason"] == "client_lookup_not_permitted"
    assert {k: v for k, v in known.json().items() if k != "instance"} == {
        k: v for k, v in unknown.json().items() if k != "instance"}
    refusals = events(runtime, actor_id=str(officer_id))
    assert [(e.reason, e.client_pseudonym) for e in refusals] == [("client_lookup_not_permitted", None)] * 2
