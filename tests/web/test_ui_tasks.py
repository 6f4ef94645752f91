"""The client managers' tasks page over HTTP, on both engines (art. 10): a partner's data arriving before
the client was informed shows as a task; the form records the informed moment through the informing
service (decided and recorded), closing the task; bad forms and forms without their CSRF token change
nothing; the page is the client managers' only."""

from __future__ import annotations

import datetime as dt
import uuid

from audit import AuditAction, Outcome
from gateway.care import service as care_service
from gateway.clients.models import Client
from tests.gateway.helpers import act, auth, last_event, register_client, token
from tests.web.test_ui_requests import nav
from tests.web.test_ui_views import csrf, sign_in

NOTE = {"kind": "note", "category": "special", "content": {"text": "Known to the GGZ crisis service."}}


def client_with_a_task(runtime, demo, http) -> tuple[uuid.UUID, str]:
    """A client of the demo client manager, not informed, to whom the GGZ worker wrote an entry."""
    manager_id, ggz_id = demo.staff["client_manager"], demo.staff["ggz_worker"]
    client_id = register_client(runtime, manager_id)
    act(runtime, manager_id, lambda tx: care_service.grant_link(
        tx, client_id=client_id, staff_id=uuid.UUID(ggz_id), purpose="case_management", reason="crisis service"))
    written = http.post(f"/v1/clients/{client_id}/entries", json=NOTE,
                        headers=auth(token(runtime, ggz_id), "wellbeing"))
    assert written.status_code == 201, written.text
    with runtime.session() as session:
        return client_id, session.get(Client, client_id).pseudonym


def informed(runtime, client_id) -> Client:
    with runtime.session() as session:
        return session.get(Client, client_id)


def test_a_manager_sees_the_task_and_records_that_the_client_was_informed(runtime, demo, http):
    client_id, pseudonym = client_with_a_task(runtime, demo, http)
    sign_in(http, "demo.client_manager")
    page = http.get("/ui/tasks")
    assert page.status_code == 200, page.text
    assert "Tasks" in nav(page)
    assert "Inform the client" in page.text and pseudonym in page.text
    assert runtime.covenant.parties[demo.parties["mental_health"]].name in page.text
    assert "Known to the GGZ" not in page.text  # the task names the party, never the data
    listed = last_event(runtime, action=AuditAction.TASK_LIST)
    assert (listed.outcome, listed.actor_id, listed.purpose) == (Outcome.PERMIT, demo.staff["client_manager"],
                                                                 "case_management")
    assert f"/ui/clients/{client_id}/informed" in page.text

    done = http.post(f"/ui/clients/{client_id}/informed",
                     data={"csrf_token": csrf(page), "how": "in_person", "informed_on": ""})
    assert done.status_code == 303 and done.headers["location"].endswith("/ui/tasks?done=informed")
    event = last_event(runtime, action=AuditAction.CLIENT_INFORM)
    assert (event.outcome, event.actor_id, event.detail, event.client_pseudonym) == (
        Outcome.PERMIT, demo.staff["client_manager"], {"how": "in_person"}, pseudonym)
    row = informed(runtime, client_id)
    assert (row.informed_how, str(row.informed_by)) == ("in_person", demo.staff["client_manager"])

    after = http.get("/ui/tasks?done=informed")
    assert "No open tasks." in after.text and "Every client you manage has been informed." in after.text
    assert "Done: informed." in after.text


def test_an_earlier_day_counts_from_its_beginning_and_a_later_one_is_refused(runtime, demo, http, clock):
    client_id, _ = client_with_a_task(runtime, demo, http)
    sign_in(http, "demo.client_manager")
    page = http.get("/ui/tasks")
    today = clock().astimezone(runtime.settings.zone).date()

    tomorrow = http.post(f"/ui/clients/{client_id}/informed", data={
        "csrf_token": csrf(page), "how": "letter", "informed_on": (today + dt.timedelta(days=1)).isoformat()})
    assert tomorrow.status_code == 400 and "day still to come" in tomorrow.text
    for how, day in (("by pigeon", ""), ("letter", "23-11-2026")):
        bad = http.post(f"/ui/clients/{client_id}/informed",
                        data={"csrf_token": csrf(page), "how": how, "informed_on": day})
        assert bad.status_code == 400
        assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "request_invalid"
    assert informed(runtime, client_id).informed_at is None

    earlier = today - dt.timedelta(days=2)
    done = http.post(f"/ui/clients/{client_id}/informed",
                     data={"csrf_token": csrf(page), "how": "letter", "informed_on": earlier.isoformat()})
    assert done.status_code == 303, done.text
    row = informed(runtime, client_id)
    expected = dt.datetime.combine(earlier, dt.time(), runtime.settings.zone)
    assert row.informed_at == expected and row.informed_how == "letter"

    again = http.post(f"/ui/clients/{client_id}/informed", data={"csrf_token": csrf(page), "how": "other"})
    assert again.status_code == 409  # once
    assert informed(runtime, client_id).informed_how == "letter"


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(runtime, demo, http):
    client_id, _ = client_with_a_task(runtime, demo, http)
    sign_in(http, "demo.client_manager")
    refused = http.post(f"/ui/clients/{client_id}/informed", data={"how": "in_person"})
    assert refused.status_code == 403
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "csrf_invalid"
    assert informed(runtime, client_id).informed_at is None


def test_the_page_is_the_client_managers_only(runtime, demo, http):
    client_id, _ = client_with_a_task(runtime, demo, http)
    sign_in(http, "demo.privacy_officer")
    page = http.get("/ui/tasks")
    assert page.status_code == 403 and "Tasks" not in nav(page)
    refused = last_event(runtime, action=AuditAction.TASK_LIST)
    assert (refused.outcome, refused.actor_id) == (Outcome.DENY, demo.staff["privacy_officer"])
    form = http.get("/ui/events")
    posted = http.post(f"/ui/clients/{client_id}/informed", data={"csrf_token": csrf(form), "how": "in_person"})
    assert posted.status_code == 403
    assert last_event(runtime, action=AuditAction.CLIENT_INFORM).outcome == Outcome.DENY
    assert informed(runtime, client_id).informed_at is None
