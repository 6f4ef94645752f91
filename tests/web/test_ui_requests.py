"""The client managers' pages over HTTP, on both engines: who signs in to which navigation, the queue
with its deadlines and marks, a request walked through its steps by forms (through the rights
service, each step recorded), the letter's download, and forms refused without their CSRF token."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from audit import AuditAction, Outcome
from gateway.jobs.service import run_job
from gateway.rights.jobs import deadlines_job
from gateway.rights.models import RightsRequest
from tests.gateway.helpers import last_event
from tests.rights.test_letters import text_of
from tests.web.test_ui_views import csrf, sign_in

REASONS = "The night shelter's log shows the client was in hospital that week."
_REQUEST = re.compile(r'href="[^"]*/ui/requests/([0-9a-f-]{36})/([0-9a-f-]{36})"')


def nav(page) -> str:
    return page.text.split('<nav aria-label="Pages">', 1)[1].split("</nav>", 1)[0]


def test_each_role_signs_in_to_its_own_navigation(runtime, demo, http):
    signed_in = sign_in(http, "demo.client_manager")
    assert signed_in.status_code == 303 and signed_in.headers["location"].endswith("/ui/requests")
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.actor_id, event.purpose, event.authority) == (
        Outcome.PERMIT, demo.staff["client_manager"], "subject_rights", "role:client_manager")
    queue = http.get("/ui/requests")
    assert queue.status_code == 200 and "Requests" in nav(queue) and "Search the trail" not in nav(queue)
    listed = last_event(runtime, action=AuditAction.REQUEST_LIST)
    assert (listed.outcome, listed.actor_id) == (Outcome.PERMIT, demo.staff["client_manager"])
    # Signing in opens nothing: the trail still decides for itself, and refuses on record.
    trail = http.get("/ui/events")
    assert trail.status_code == 403 and "Search the trail" not in nav(trail)
    refused = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (refused.outcome, refused.actor_id) == (Outcome.DENY, demo.staff["client_manager"])
    assert http.get("/ui", follow_redirects=False).headers["location"].endswith("/ui/requests")
    http.post("/ui/sign-out", data={"csrf_token": csrf(queue)})
    assert last_event(runtime, action=AuditAction.UI_SIGN_OUT).outcome == Outcome.PERMIT

    sign_in(http, "demo.privacy_officer")
    trail = http.get("/ui/events")
    assert "Search the trail" in nav(trail) and "Requests" not in nav(trail)
    assert http.get("/ui/requests").status_code == 403
    refused = last_event(runtime, action=AuditAction.REQUEST_LIST)
    assert (refused.outcome, refused.actor_id) == (Outcome.DENY, demo.staff["privacy_officer"])


def record_correction(http, demo) -> tuple[str, str]:
    client = demo.clients[0]
    new = http.get("/ui/requests/new", params={"client": client, "kind": "correction"})
    assert new.status_code == 200, new.text
    entry_id = re.search(r'<option value="([0-9a-f-]{36})">intake', new.text).group(1)
    recorded = http.post("/ui/requests/new", data={
        "csrf_token": csrf(new), "client": client, "kind": "correction", "received_at": "", "entry_id": entry_id,
        "correction": "improve", "statement": "I was in hospital, not refusing help."})
    assert recorded.status_code == 303, recorded.text
    request_id = recorded.headers["location"].split("/")[-1].split("?")[0]
    return client, request_id


def test_a_manager_walks_a_correction_through_the_forms(runtime, demo, http, clock):
    sign_in(http, "demo.client_manager")
    client, rid = record_correction(http, demo)
    opened = last_event(runtime, action=AuditAction.REQUEST_OPEN)
    assert (opened.outcome, opened.object_id, opened.access_point) == (Outcome.PERMIT, rid, "POST /ui/requests/new")
    with runtime.session() as session:
        due = session.get(RightsRequest, uuid.UUID(rid)).decision_due
    queue = http.get("/ui/requests")
    assert _REQUEST.search(queue.text).groups() == (client, rid)
    assert due.isoformat() in queue.text and "Late" not in queue.text

    page = http.get(f"/ui/requests/{client}/{rid}")
    assert page.status_code == 200 and "received" in page.text and "Take into review" in page.text
    assert http.post(f"/ui/requests/{client}/{rid}/review", data={"csrf_token": csrf(page)}).status_code == 303
    assert last_event(runtime, action=AuditAction.REQUEST_REVIEW).outcome == Outcome.PERMIT

    clock.advance(due - clock().date() - dt.timedelta(days=1))  # the day before the decision's deadline
    sign_in(http, "demo.client_manager")  # the session has long expired
    queue = http.get("/ui/requests")
    assert '<strong class="flag due-soon">Due soon</strong>' in queue.text and "Late" not in queue.text
    clock.advance(dt.timedelta(days=2))  # a day past it
    sign_in(http, "demo.client_manager")
    queue = http.get("/ui/requests")
    assert '<strong class="flag late">Late</strong>' in queue.text
    page = http.get(f"/ui/requests/{client}/{rid}")
    assert http.post(f"/ui/requests/{client}/{rid}/decide", data={
        "csrf_token": csrf(page), "outcome": "granted", "reasons": "", "correction": "improve"}).status_code == 400
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "request_invalid"
    decided = http.post(f"/ui/requests/{client}/{rid}/decide", data={
        "csrf_token": csrf(page), "outcome": "granted", "reasons": REASONS, "correction": "improve"})
    assert decided.status_code == 303
    event = last_event(runtime, action=AuditAction.REQUEST_DECIDE)
    assert (event.outcome, event.detail["outcome"], event.detail["late"]) == (Outcome.PERMIT, "granted", True)
    assert REASONS not in str(event.detail)

    page = http.get(f"/ui/requests/{client}/{rid}")
    assert "decided: granted (late)" in page.text and "Decision letter (PDF, nl)" in page.text
    letter = http.get(f"/ui/requests/{client}/{rid}/letter.pdf", params={"language": "en"})
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"
    assert letter.headers["content-disposition"] == f'attachment; filename="decision-{rid}-en.pdf"'
    text = text_of(letter.content)
    assert "We grant your request for correction." in text and REASONS in text and "late" in text
    assert last_event(runtime, action=AuditAction.REQUEST_LETTER).access_point.startswith("GET /ui/requests/")

    assert "Sleeps in the night shelter since September." in page.text  # the entry to improve, as it stands
    assert last_event(runtime, action=AuditAction.RECORD_READ).actor_id == demo.staff["client_manager"]
    carried = http.post(f"/ui/requests/{client}/{rid}/carry-out", data={
        "csrf_token": csrf(page), "content": '{"domain": "housing", "text": "In hospital in October."}'})
    assert carried.status_code == 303, carried.text
    assert last_event(runtime, action=AuditAction.REQUEST_CARRY_OUT).outcome == Outcome.PERMIT
    page = http.get(f"/ui/requests/{client}/{rid}")
    assert http.post(f"/ui/requests/{client}/{rid}/close", data={"csrf_token": csrf(page)}).status_code == 303
    assert last_event(runtime, action=AuditAction.REQUEST_CLOSE).outcome == Outcome.PERMIT
    assert "No open requests." in http.get("/ui/requests").text
    # An illegal step is the service's 409, on a page, and changes nothing.
    assert http.post(f"/ui/requests/{client}/{rid}/withdraw", data={"csrf_token": csrf(page)}).status_code == 409


def test_a_step_without_its_csrf_token_is_refused_and_changes_nothing(runtime, demo, http):
    sign_in(http, "demo.client_manager")
    client, rid = record_correction(http, demo)
    refused = http.post(f"/ui/requests/{client}/{rid}/review", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "Form refused" in refused.text
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "csrf_invalid"
    with runtime.session() as session:
        assert session.get(RightsRequest, uuid.UUID(rid)).status == "received"
    assert http.post("/ui/requests/new", data={"client": client, "kind": "access"}).status_code == 403


def test_someone_elses_request_page_is_refused_on_record(runtime, demo, http):
    sign_in(http, "demo.client_manager")
    client, rid = record_correction(http, demo)
    http.post("/ui/sign-out", data={"csrf_token": csrf(http.get("/ui/requests"))})
    sign_in(http, "demo.privacy_officer")
    assert http.get(f"/ui/requests/{client}/{rid}").status_code in (403, 404)
    event = last_event(runtime, action=AuditAction.REQUEST_READ)
    assert (event.outcome, event.actor_id) == (Outcome.DENY, demo.staff["privacy_officer"])
    assert http.get(f"/ui/requests/{client}/{rid}/letter.pdf").status_code in (403, 404)
    assert last_event(runtime, action=AuditAction.REQUEST_LETTER).outcome == Outcome.DENY


def test_an_access_request_gets_its_copy_and_letter_from_the_page(runtime, demo, http):
    sign_in(http, "demo.client_manager")
    client = demo.clients[0]
    new = http.get("/ui/requests/new", params={"client": client, "kind": "access"})
    recorded = http.post("/ui/requests/new", data={"csrf_token": csrf(new), "client": client, "kind": "access"})
    assert recorded.status_code == 303
    rid = recorded.headers["location"].split("/")[-1].split("?")[0]
    page = http.get(f"/ui/requests/{client}/{rid}")
    assert "Access copy (PDF" not in page.text and "Decision letter" not in page.text
    http.post(f"/ui/requests/{client}/{rid}/review", data={"csrf_token": csrf(page)})
    page = http.get(f"/ui/requests/{client}/{rid}")
    # Granting access before the copy was produced is the service's 409, changing nothing.
    assert http.post(f"/ui/requests/{client}/{rid}/decide", data={
        "csrf_token": csrf(page), "outcome": "granted", "reasons": "Your copy is enclosed."}).status_code == 409
    copy = http.get(f"/ui/requests/{client}/{rid}/copy.pdf", params={"language": "nl"})
    assert copy.status_code == 200 and copy.headers["content-type"] == "application/pdf"
    assert "Sleeps in the night shelter" in text_of(copy.content)
    assert last_event(runtime, action=AuditAction.CLIENT_EXPORT).detail["format"] == "pdf"
    assert http.get(f"/ui/requests/{client}/{rid}/copy.pdf", params={"language": "fr"}).status_code == 400
    assert http.post(f"/ui/requests/{client}/{rid}/decide", data={
        "csrf_token": csrf(page), "outcome": "granted", "reasons": "Your copy is enclosed."}).status_code == 303
    letter = http.get(f"/ui/requests/{client}/{rid}/letter.pdf")
    assert "Wij geven u inzage in al uw gegevens." in text_of(letter.content)
    page = http.get(f"/ui/requests/{client}/{rid}")
    assert http.post(f"/ui/requests/{client}/{rid}/close", data={"csrf_token": csrf(page)}).status_code == 303


def test_deadline_notices_are_listed_to_their_addressees_and_dismissed_on_record(runtime, demo, http, clock):
    sign_in(http, "demo.client_manager")
    client, rid = record_correction(http, demo)
    with runtime.session() as session:
        due = session.get(RightsRequest, uuid.UUID(rid)).decision_due
    # The day after the decision was due: the pass escalates to the manager and the privacy officer.
    late = due + dt.timedelta(days=1)
    clock.set(dt.datetime.combine(late, dt.time(7, 0), dt.UTC))
    assert run_job(runtime, deadlines_job(late), manual=True).counts["escalated"] == 1

    sign_in(http, "demo.client_manager")  # the session ended while the clock moved on
    page = http.get("/ui/notices")
    assert page.status_code == 200 and "Deadline notices" in nav(page)
    assert "Deadline missed" in page.text and due.isoformat() in page.text
    assert f"/ui/requests/{client}/{rid}" in page.text  # the manager goes from the notice to the request
    listed = last_event(runtime, action=AuditAction.NOTICE_LIST)
    assert (listed.outcome, listed.actor_id, listed.detail["returned"]) == (
        Outcome.PERMIT, demo.staff["client_manager"], 1)
    notice_id = re.search(r'action="[^"]*/ui/notices/([0-9a-f-]{36})/dismiss"', page.text).group(1)
    # Without its CSRF token the dismissal is refused and the notice stays.
    refused = http.post(f"/ui/notices/{notice_id}/dismiss", data={})
    assert refused.status_code == 403 and "Deadline missed" in http.get("/ui/notices").text
    dismissed = http.post(f"/ui/notices/{notice_id}/dismiss", data={"csrf_token": csrf(page)})
    assert dismissed.status_code == 303 and dismissed.headers["location"].endswith("/ui/notices")
    event = last_event(runtime, action=AuditAction.NOTICE_DISMISS)
    assert (event.outcome, event.object_id) == (Outcome.PERMIT, notice_id)
    assert "No open notices." in http.get("/ui/notices").text
    http.post("/ui/sign-out", data={"csrf_token": csrf(page)})

    # The privacy officer has the escalation too, without a link into the client's request, and cannot
    # dismiss the manager's notice (someone else's: 404, on record).
    sign_in(http, "demo.privacy_officer")
    page = http.get("/ui/notices")
    assert "Deadline missed" in page.text and f"/ui/requests/{client}/{rid}" not in page.text
    assert http.post(f"/ui/notices/{notice_id}/dismiss", data={"csrf_token": csrf(page)}).status_code == 404
    assert last_event(runtime, action=AuditAction.NOTICE_DISMISS).outcome == Outcome.DENY
