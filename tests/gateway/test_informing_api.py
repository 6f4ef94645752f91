"""Art. 10 over the API: no intake before the client is informed; partner data arriving first raises a
task for the client manager, closed when the informed moment is recorded (once)."""

from __future__ import annotations

import datetime as dt
import uuid

from audit import AuditAction, Outcome
from gateway.care import service as care_service
from gateway.clients.models import Client
from tests.gateway.helpers import act, auth, events, last_event, register_client, token

INTAKE = {"kind": "intake", "category": "ordinary", "content": {"domain": "housing", "text": "Sleeps outside."}}
NOTE = {"kind": "note", "category": "special", "content": {"text": "Known to the GGZ crisis service."}}


def test_the_intake_waits_for_the_informed_moment_and_partner_data_raises_a_task(runtime, demo, http):
    manager_id, ggz_id = demo.staff["client_manager"], demo.staff["ggz_worker"]
    client_id = register_client(runtime, manager_id)
    act(runtime, manager_id, lambda tx: care_service.grant_link(
        tx, client_id=client_id, staff_id=uuid.UUID(ggz_id), purpose="case_management", reason="crisis service"))
    manager = auth(token(runtime, manager_id), "housing")
    case = auth(token(runtime, manager_id), "case_management")
    entries = f"/v1/clients/{client_id}/entries"

    refused = http.post(entries, json=INTAKE, headers=manager)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "client_not_informed" and "Sleeps" not in refused.text
    denied = last_event(runtime, action=AuditAction.RECORD_WRITE)
    assert (denied.outcome, denied.reason) == (Outcome.DENY, "client_not_informed")
    # Other entries of the client manager's own party are not the partners' data: no task.
    assert http.post(entries, json={**NOTE, "category": "ordinary"}, headers=manager).status_code == 201
    assert http.get("/v1/tasks", headers=case).json() == []

    ggz = auth(token(runtime, ggz_id), "wellbeing")
    assert http.post(entries, json=NOTE, headers=ggz).status_code == 201
    assert http.post(entries, json=NOTE, headers=ggz).status_code == 201  # one open task per client
    tasks = http.get("/v1/tasks", headers=case)
    assert tasks.status_code == 200
    (task,) = tasks.json()
    assert (task["client_id"], task["kind"], task["source_party"]) == (str(client_id), "inform_client",
                                                                       demo.parties["mental_health"])
    assert last_event(runtime, action=AuditAction.TASK_RAISED).object_id == task["id"]
    assert last_event(runtime, action=AuditAction.TASK_LIST).outcome == Outcome.PERMIT
    # Only client managers list tasks.
    assert http.get("/v1/tasks", headers=auth(token(runtime, ggz_id), "case_management")).status_code == 403

    url = f"/v1/clients/{client_id}/informed"
    not_manager = http.post(url, json={"how": "letter"}, headers=auth(token(runtime, ggz_id), "case_management"))
    assert not_manager.status_code == 403
    bad = http.post(url, json={"how": "by pigeon"}, headers=case)
    assert bad.status_code == 422
    informed = http.post(url, json={"how": "in_person"}, headers=case)
    assert informed.status_code == 201, informed.text
    body = informed.json()
    assert (body["how"], body["informed_by"], body["tasks_closed"]) == ("in_person", manager_id, 1)
    event = last_event(runtime, action=AuditAction.CLIENT_INFORM)
    assert (event.outcome, event.detail) == (Outcome.PERMIT, {"how": "in_person"})
    with runtime.session() as session:
        row = session.get(Client, client_id)
        assert (row.informed_how, str(row.informed_by)) == ("in_person", manager_id)
        assert row.informed_at is not None
    again = http.post(url, json={"how": "letter"}, headers=case)
    assert again.status_code == 409
    assert [e.outcome for e in events(runtime, action=AuditAction.CLIENT_INFORM)] == [
        Outcome.DENY, Outcome.PERMIT, Outcome.ERROR]

    assert http.get("/v1/tasks", headers=case).json() == []
    closed = http.get("/v1/tasks?closed=true", headers=case).json()
    assert [item["id"] for item in closed] == [task["id"]] and closed[0]["closed_at"] is not None
    assert http.post(entries, json=INTAKE, headers=manager).status_code == 201


def test_the_demo_client_is_informed_and_a_moment_in_the_future_is_refused(runtime, demo, http, clock):
    case = auth(token(runtime, demo.staff["client_manager"]), "case_management")
    assert http.post(f"/v1/clients/{demo.clients[0]}/informed", json={"how": "letter"},
                     headers=case).status_code == 409
    client_id = register_client(runtime, demo.staff["client_manager"])
    future = (clock() + dt.timedelta(days=1)).isoformat()
    response = http.post(f"/v1/clients/{client_id}/informed", json={"how": "letter", "informed_at": future},
                         headers=case)
    assert response.status_code == 422
    with runtime.session() as session:
        assert session.get(Client, client_id).informed_at is None
