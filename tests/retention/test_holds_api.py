"""Legal holds over the API: placed, listed and released by the controller's privacy officers only,
each attempt on record, the reason never outside the client's sealed file."""

from __future__ import annotations

import uuid

from audit import AuditAction, Outcome
from gateway.retention.models import LegalHold
from tests.gateway.helpers import auth, events, last_event, token
from tests.retention.test_purge import DAY_AFTER

REASON = "objection of 2 March still before the court"


def holds_url(client_id) -> str:
    return f"/v1/clients/{client_id}/holds"


def test_the_auth_matrix_of_placing_a_hold(runtime, demo, http):
    url, body = holds_url(demo.clients[0]), {"reason": REASON}
    assert http.post(url, json=body, headers=auth(None, "subject_rights")).status_code == 401
    officer = demo.staff["privacy_officer"]
    no_scope = token(runtime, officer, scopes=["audit:read"])
    assert http.post(url, json=body, headers=auth(no_scope, "subject_rights")).status_code == 403
    manager = token(runtime, demo.staff["client_manager"])
    refused = http.post(url, json=body, headers=auth(manager, "subject_rights"))
    assert refused.status_code == 403 and REASON not in refused.text
    wrong_purpose = http.post(url, json=body, headers=auth(token(runtime, officer), "oversight"))
    assert wrong_purpose.status_code == 403
    denied = last_event(runtime, action=AuditAction.RETENTION_HOLD)
    assert denied.outcome == Outcome.DENY
    assert runtime.session().query(LegalHold).count() == 0

    placed = http.post(url, json={**body, "until": DAY_AFTER.isoformat()}, headers=auth(token(runtime, officer),
                                                                                          "subject_rights"))
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert (hold["reason"], hold["until"], hold["in_force"]) == (REASON, DAY_AFTER.isoformat(), True)
    assert placed.headers["Location"] == f"{url}/{hold['id']}"
    event = last_event(runtime, action=AuditAction.RETENTION_HOLD)
    assert (event.outcome, event.authority, event.object_id) == (Outcome.PERMIT, "role:privacy_officer", hold["id"])
    assert REASON not in str(event.detail) and event.client_pseudonym
    with runtime.session() as session:
        assert REASON.encode() not in session.get(LegalHold, uuid.UUID(hold["id"])).reason


def test_a_hold_is_listed_and_released_once(runtime, demo, http):
    officer = auth(token(runtime, demo.staff["privacy_officer"]), "subject_rights")
    url = holds_url(demo.clients[0])
    hold = http.post(url, json={"reason": REASON}, headers=officer).json()
    listed = http.get(url, headers=officer)
    assert listed.status_code == 200 and [item["id"] for item in listed.json()] == [hold["id"]]
    assert last_event(runtime, action=AuditAction.RETENTION_HOLD_LIST).detail == {"returned": 1}

    released = http.post(f"{url}/{hold['id']}/release", headers=officer)
    assert released.status_code == 200 and released.json()["in_force"] is False
    assert released.json()["released_by"] == demo.staff["privacy_officer"]
    assert http.post(f"{url}/{hold['id']}/release", headers=officer).status_code == 409
    assert http.post(f"{url}/{uuid.uuid4()}/release", headers=officer).status_code == 404
    outcomes = [event.outcome for event in events(runtime, action=AuditAction.RETENTION_HOLD_RELEASE)]
    assert outcomes == [Outcome.PERMIT, Outcome.ERROR, Outcome.ERROR]
    assert http.get(url, headers=officer).json()[0]["in_force"] is False


def test_a_hold_that_ends_before_today_is_422_and_changes_nothing(runtime, demo, http):
    officer = auth(token(runtime, demo.staff["privacy_officer"]), "subject_rights")
    response = http.post(holds_url(demo.clients[0]), json={"reason": REASON, "until": "2020-01-01"}, headers=officer)
    assert response.status_code == 422 and REASON not in response.text
    short = http.post(holds_url(demo.clients[0]), json={"reason": "short"}, headers=officer)
    assert short.status_code == 422 and "short" not in short.text.replace("too_short", "").replace("shorter", "")
    assert runtime.session().query(LegalHold).count() == 0


def test_a_privacy_officer_of_another_party_may_not_place_holds(runtime, demo, http):
    from covenant import Role
    from gateway.parties import service as parties_service
    from gateway.parties.models import Staff

    staff_id = uuid.uuid4()
    values = parties_service.staff_row(staff_id=staff_id, party=demo.parties["shelter"], handle="shelter.privacy",
                                       roles=[Role.PRIVACY_OFFICER], now=runtime.clock())
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**values))
    response = http.post(holds_url(demo.clients[0]), json={"reason": REASON},
                         headers=auth(token(runtime, staff_id), "subject_rights"))
    assert response.status_code == 403
    assert last_event(runtime, action=AuditAction.RETENTION_HOLD).reason == "role_required"


def test_a_holds_reason_is_resealed_when_a_correction_renews_the_clients_key(runtime, demo, http, clock):
    from tests.gateway.test_rights_api import _granted, step, write_note

    client_id = demo.clients[0]
    officer = auth(token(runtime, demo.staff["privacy_officer"]), "subject_rights")
    hold = http.post(holds_url(client_id), json={"reason": REASON}, headers=officer).json()
    entry_id = write_note(http, runtime, demo, client_id, "Refused help in October.")
    rid = _granted(http, runtime, demo, client_id, entry_id, "improve")
    step(http, runtime, demo, client_id, rid, "carry-out", {"content": {"text": "Was in hospital in October."}})
    with runtime.session() as session:
        assert session.get(LegalHold, uuid.UUID(hold["id"])).key_version == 2
    runtime.vault.forget_cached()
    listed = http.get(holds_url(client_id), headers=officer)
    assert listed.status_code == 200 and listed.json()[0]["reason"] == REASON
