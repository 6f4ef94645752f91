"""Break-the-glass over HTTP on loopback: opening a file without a link, the window, the flagged
trail, and the privacy officer's review."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from audit import AuditAction, Outcome
from covenant import Emergency
from gateway.clients.models import Client, ClientStatus
from gateway.emergency.models import EmergencyAccess
from tests.gateway.helpers import auth, events, last_event, token

REASON = "Found unconscious at the night shelter door; need his medication list."
WINDOW = dt.timedelta(hours=4)


@pytest.fixture
def client_id(demo):
    return demo.clients[0]


def entries_url(client_id, entry_id=None):
    return f"/v1/clients/{client_id}/entries" + (f"/{entry_id}" if entry_id else "")


def open_url(client_id):
    return f"/v1/clients/{client_id}/emergency-access"


def police(runtime, demo, purpose="wellbeing"):
    """The demo's police officer is on no care team: the unlinked staff member of these tests."""
    return auth(token(runtime, demo.staff["police_officer"]), purpose)


def officer(runtime, demo):
    return auth(token(runtime, demo.staff["privacy_officer"]), "oversight")


def open_window(http, runtime, demo, client_id) -> dict:
    response = http.post(open_url(client_id), json={"reason": REASON}, headers=police(runtime, demo))
    assert response.status_code == 201, response.text
    return response.json()


def test_an_unlinked_staff_member_reads_the_file_for_the_window_and_not_after(runtime, http, demo, client_id, clock):
    assert http.get(entries_url(client_id), headers=police(runtime, demo)).status_code == 403
    opened = open_window(http, runtime, demo, client_id)
    assert dt.datetime.fromisoformat(opened["until"]) == clock() + WINDOW
    event = last_event(runtime, action=AuditAction.EMERGENCY_OPEN)
    assert (event.outcome, event.object_id, event.actor_id) == (Outcome.PERMIT, opened["id"],
                                                                 demo.staff["police_officer"])
    assert event.detail == {"emergency": True}
    assert REASON not in str(event.detail) and event.client_pseudonym is not None

    listed = http.get(entries_url(client_id), headers=police(runtime, demo))
    assert listed.status_code == 200
    # The window stands in for the link, not for the party's rights: the police read no special data.
    assert {entry["category"] for entry in listed.json()} == {"ordinary"}
    entry_id = listed.json()[0]["id"]
    assert http.get(entries_url(client_id, entry_id), headers=police(runtime, demo)).status_code == 200
    read = last_event(runtime, action=AuditAction.RECORD_READ)
    assert (read.outcome, read.authority, read.detail) == (Outcome.PERMIT, f"emergency:{opened['id']}",
                                                           {"emergency": True})
    assert last_event(runtime, action=AuditAction.RECORD_LIST).detail == {"emergency": True}

    # Writing needs a link: break-the-glass opens the file for reading only.
    note = {"kind": "note", "category": "ordinary", "content": {"text": "Taken to hospital."}}
    assert http.post(entries_url(client_id), json=note, headers=police(runtime, demo)).status_code == 403

    clock.advance(WINDOW - dt.timedelta(microseconds=1))
    assert http.get(entries_url(client_id, entry_id), headers=police(runtime, demo)).status_code == 200
    clock.advance(dt.timedelta(microseconds=1))
    response = http.get(entries_url(client_id, entry_id), headers=police(runtime, demo))
    assert response.status_code == 403 and response.json()["reason"] == "not_linked"
    assert last_event(runtime, action=AuditAction.RECORD_READ).authority is None


def test_the_reason_is_encrypted_at_rest(runtime, http, demo, client_id):
    opened = open_window(http, runtime, demo, client_id)
    with runtime.session() as session:
        row = session.get(EmergencyAccess, uuid.UUID(opened["id"]))
    assert REASON.encode() not in row.reason and row.staff_id == uuid.UUID(demo.staff["police_officer"])


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "urgent"}, {"reason": "x" * 501}])
def test_without_a_reason_of_ten_to_five_hundred_characters_the_answer_is_422(runtime, http, demo, client_id, body):
    response = http.post(open_url(client_id), json=body, headers=police(runtime, demo))
    assert response.status_code == 422
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "request_invalid"
    assert events(runtime, action=AuditAction.EMERGENCY_OPEN) == []
    assert http.get(entries_url(client_id), headers=police(runtime, demo)).status_code == 403


def test_a_covenant_without_break_the_glass_refuses_it(runtime, http, demo, client_id):
    runtime.covenant = dataclasses.replace(runtime.covenant, emergency=Emergency(enabled=False))
    response = http.post(open_url(client_id), json={"reason": REASON}, headers=police(runtime, demo))
    assert response.status_code == 403 and response.json()["reason"] == "emergency_disabled"
    event = last_event(runtime, action=AuditAction.EMERGENCY_OPEN)
    assert (event.outcome, event.reason) == (Outcome.DENY, "emergency_disabled")


def test_switching_break_the_glass_off_closes_open_windows(runtime, http, demo, client_id):
    open_window(http, runtime, demo, client_id)
    runtime.covenant = dataclasses.replace(runtime.covenant, emergency=Emergency(enabled=False))
    assert http.get(entries_url(client_id), headers=police(runtime, demo)).status_code == 403


def _stop_processing(runtime, client_id):
    with runtime.writer_engine.begin() as conn:
        conn.execute(Client.__table__.update().where(Client.id == uuid.UUID(client_id))
                     .values(status=ClientStatus.PROCESSING_STOPPED))


def test_a_client_whose_processing_is_stopped_stays_closed(runtime, http, demo, client_id):
    open_window(http, runtime, demo, client_id)
    _stop_processing(runtime, client_id)
    response = http.get(entries_url(client_id), headers=police(runtime, demo))
    assert response.status_code == 403 and response.json()["reason"] == "processing_stopped"
    # No new window is opened on a file that stays closed.
    other = auth(token(runtime, demo.staff["field_director"]), "wellbeing")
    refused = http.post(open_url(client_id), json={"reason": REASON}, headers=other)
    assert refused.status_code == 403 and refused.json()["reason"] == "processing_stopped"


def test_the_linked_need_no_window_and_one_window_at_a_time(runtime, http, demo, client_id):
    linked = auth(token(runtime, demo.staff["ggz_worker"]), "wellbeing")
    response = http.post(open_url(client_id), json={"reason": REASON}, headers=linked)
    assert response.status_code == 403 and response.json()["reason"] == "already_linked"
    open_window(http, runtime, demo, client_id)
    again = http.post(open_url(client_id), json={"reason": REASON}, headers=police(runtime, demo))
    assert again.status_code == 409
    assert last_event(runtime, action=AuditAction.EMERGENCY_OPEN).outcome == Outcome.ERROR


def test_an_unknown_client_looks_like_one_not_linked_to(runtime, http, demo):
    response = http.post(open_url(uuid.uuid4()), json={"reason": REASON}, headers=police(runtime, demo))
    assert response.status_code == 403 and response.json()["reason"] == "not_linked"


def test_opening_needs_a_token_with_records_read(runtime, http, demo, client_id):
    assert http.post(open_url(client_id), json={"reason": REASON}, headers={"X-Purpose": "wellbeing"}
                     ).status_code == 401
    bearer = token(runtime, demo.staff["police_officer"], scopes={"records:write"})
    response = http.post(open_url(client_id), json={"reason": REASON}, headers=auth(bearer))
    assert response.status_code == 403 and response.json()["reason"] == "scope_missing"


# --- review by the privacy officer ---------------------------------------------------------------------

def test_a_privacy_officer_sees_the_pending_window_and_records_a_review(runtime, http, demo, client_id, clock):
    opened = open_window(http, runtime, demo, client_id)
    pending = http.get("/v1/audit/emergency-accesses", params={"pending": "true"}, headers=officer(runtime, demo))
    assert pending.status_code == 200, pending.text
    [item] = pending.json()
    assert (item["id"], item["client_id"], item["staff_id"], item["reason"], item["review_outcome"]) == (
        opened["id"], client_id, demo.staff["police_officer"], REASON, None)
    listed = last_event(runtime, action=AuditAction.EMERGENCY_LIST)
    assert (listed.outcome, listed.authority) == (Outcome.PERMIT, "role:privacy_officer")
    assert listed.detail == {"pending": True, "returned": 1, "scope": "all"}

    clock.advance(dt.timedelta(days=1))
    review = http.post(f"/v1/audit/emergency-accesses/{opened['id']}/review",
                       json={"outcome": "justified", "note": "Ambulance report confirms the emergency."},
                       headers=officer(runtime, demo))
    assert review.status_code == 200, review.text
    assert (review.json()["review_outcome"], review.json()["reviewed_by"]) == ("justified",
                                                                              demo.staff["privacy_officer"])
    event = last_event(runtime, action=AuditAction.EMERGENCY_REVIEW)
    assert (event.outcome, event.object_id, event.detail) == (Outcome.PERMIT, opened["id"],
                                                              {"outcome": "justified"})
    assert "Ambulance" not in str(event.detail)

    assert http.get("/v1/audit/emergency-accesses", params={"pending": "true"},
                    headers=officer(runtime, demo)).json() == []
    [done] = http.get("/v1/audit/emergency-accesses", params={"pending": "false"},
                      headers=officer(runtime, demo)).json()
    assert (done["review_outcome"], done["review_note"]) == ("justified", "Ambulance report confirms the emergency.")
    again = http.post(f"/v1/audit/emergency-accesses/{opened['id']}/review",
                      json={"outcome": "unjustified", "note": "second thoughts"}, headers=officer(runtime, demo))
    assert again.status_code == 409


def test_the_pending_list_is_paginated(runtime, http, demo, client_id, clock):
    for name in ("police_officer", "field_director", "privacy_officer"):
        bearer = auth(token(runtime, demo.staff[name]), "wellbeing")
        assert http.post(open_url(client_id), json={"reason": REASON}, headers=bearer).status_code == 201
        clock.advance(dt.timedelta(minutes=1))
    first = http.get("/v1/audit/emergency-accesses", params={"pending": "true", "limit": 2},
                     headers=officer(runtime, demo))
    assert len(first.json()) == 2 and 'rel="next"' in first.headers["link"]
    second = http.get(first.headers["link"].split(";")[0].strip("<>"), headers=officer(runtime, demo))
    assert len(second.json()) == 1 and "link" not in second.headers
    assert {item["staff_id"] for item in first.json() + second.json()} == {
        demo.staff[name] for name in ("police_officer", "field_director", "privacy_officer")}


def test_only_privacy_officers_review(runtime, http, demo, client_id):
    opened = open_window(http, runtime, demo, client_id)
    manager = token(runtime, demo.staff["client_manager"])
    listing = http.get("/v1/audit/emergency-accesses", headers=auth(manager, "oversight"))
    assert listing.status_code == 403
    # The field director's token carries no audit:read; with one minted anyway, the role still refuses.
    director = token(runtime, demo.staff["field_director"], scopes={"audit:read"})
    response = http.post(f"/v1/audit/emergency-accesses/{opened['id']}/review",
                         json={"outcome": "unjustified", "note": "no emergency"}, headers=auth(director, "oversight"))
    assert response.status_code == 403
    event = last_event(runtime, action=AuditAction.EMERGENCY_REVIEW)
    assert (event.outcome, event.client_pseudonym) == (Outcome.DENY, None)
    with runtime.session() as session:
        assert session.get(EmergencyAccess, uuid.UUID(opened["id"])).reviewed_at is None


def test_a_review_of_an_unknown_window_is_404_and_an_invalid_outcome_422(runtime, http, demo):
    unknown = http.post(f"/v1/audit/emergency-accesses/{uuid.uuid4()}/review",
                        json={"outcome": "justified", "note": "fine"}, headers=officer(runtime, demo))
    assert unknown.status_code == 404
    invalid = http.post(f"/v1/audit/emergency-accesses/{uuid.uuid4()}/review",
                        json={"outcome": "maybe", "note": "fine"}, headers=officer(runtime, demo))
    assert invalid.status_code == 422


def test_a_privacy_officer_of_another_party_reviews_only_their_own_partys_windows(runtime, http, demo, client_id):
    from sqlalchemy import insert

    from covenant import Role
    from gateway.parties import service as parties_service
    from gateway.parties.models import Staff

    ggz_officer = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(insert(Staff), [parties_service.staff_row(
            staff_id=ggz_officer, party=demo.parties["mental_health"], handle="ggz.privacy",
            roles=[Role.PRIVACY_OFFICER], now=runtime.clock())])
    opened = open_window(http, runtime, demo, client_id)  # by the police officer
    headers = auth(token(runtime, ggz_officer), "oversight")
    listed = http.get("/v1/audit/emergency-accesses", params={"pending": "true"}, headers=headers)
    assert listed.status_code == 200 and listed.json() == []
    assert last_event(runtime, action=AuditAction.EMERGENCY_LIST).detail["scope"] == "own_party"
    review = http.post(f"/v1/audit/emergency-accesses/{opened['id']}/review",
                       json={"outcome": "unjustified", "note": "not ours to judge"}, headers=headers)
    assert review.status_code == 404
    assert len(http.get("/v1/audit/emergency-accesses", params={"pending": "true"},
                        headers=officer(runtime, demo)).json()) == 1
