"""The privacy officers' web UI over HTTP, on both engines: sign-in, CSRF, who may use it, the pages,
the exports, and that each of these is decided and recorded."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.responses import Response

from audit import AuditAction, Outcome
from gateway.parties.models import Staff
from gateway.parties.service import staff_row
from gateway.web.sessions import SessionCodec, UiSession
from tests.gateway.helpers import auth, events, last_event, token

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(page) -> str:
    found = _CSRF.search(page.text)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(http, handle: str):
    form = http.get("/ui/sign-in")
    assert form.status_code == 200
    return http.post("/ui/sign-in", data={"handle": handle, "csrf_token": csrf(form)})


def police_tries_the_demo_client(runtime, demo, http) -> None:
    police = token(runtime, demo.staff["police_officer"])
    refused = http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(police, "nuisance_reduction"))
    assert refused.status_code in (403, 404)


def pseudonym_of_demo_client(runtime) -> str:
    return last_event(runtime, action=AuditAction.CLIENT_REGISTER).client_pseudonym


def test_the_privacy_officer_signs_in_and_sees_the_denied_attempt(runtime, demo, http):
    police_tries_the_demo_client(runtime, demo, http)
    signed_in = sign_in(http, "demo.privacy_officer")
    assert signed_in.status_code == 303 and signed_in.headers["location"].endswith("/ui/events")
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # demo: plain http
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.actor_id, event.purpose) == (Outcome.PERMIT, demo.staff["privacy_officer"],
                                                              "oversight")
    page = http.get("/ui/denied")
    assert page.status_code == 200
    assert "Audit trail verified intact up to event" in page.text
    assert demo.staff["police_officer"] in page.text and "not_linked" in page.text
    assert "content-security-policy" in page.headers
    viewed = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (viewed.outcome, viewed.actor_id, viewed.access_point) == (Outcome.PERMIT, demo.staff["privacy_officer"],
                                                                      "GET /ui/denied")


def test_a_client_history_and_its_exports(runtime, demo, http):
    police_tries_the_demo_client(runtime, demo, http)
    pseudonym = pseudonym_of_demo_client(runtime)
    sign_in(http, "demo.privacy_officer")
    history = http.get(f"/ui/clients/{pseudonym}")
    assert history.status_code == 200 and f"Access history of client" in history.text
    assert "record.write" in history.text and "not_linked" in history.text
    exported = http.get("/ui/export.csv", params={"pseudonym": pseudonym, "outcome": "deny"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {row["client_pseudonym"] for row in rows} == {pseudonym}
    assert {row["outcome"] for row in rows} == {"deny"}
    assert any(row["actor_id"] == demo.staff["police_officer"] for row in rows)
    assert all(row["activity"].startswith("demo-region:") for row in rows)  # art. 15: the register's activity
    export = last_event(runtime, action=AuditAction.AUDIT_EXPORT)
    assert export.outcome == Outcome.PERMIT and export.detail["format"] == "csv"
    assert export.detail["returned"] == len(rows)
    assert export.detail["filter"] == {"pseudonym": pseudonym, "outcome": "deny"}
    as_json = http.get("/ui/export.json", params={"pseudonym": pseudonym})
    assert as_json.status_code == 200 and {item["client_pseudonym"] for item in as_json.json()} == {pseudonym}
    assert all(item["activity"] for item in as_json.json())


def test_a_field_director_signs_in_to_their_deadline_notices_only(runtime, demo, http):
    """Field directors of the controller are told when a client's retention term is ending (art. 9.4):
    their one page is the notices; the trail and the requests still refuse them, on record."""
    assert sign_in(http, "demo.field_director").status_code == 303
    page = http.get("/ui/notices")
    navigation = page.text.split('<nav aria-label="Pages">', 1)[1].split("</nav>", 1)[0]
    assert page.status_code == 200 and "Deadline notices" in navigation
    assert "Search the trail" not in navigation and "Requests" not in navigation
    assert http.get("/ui/events").status_code == 403 and http.get("/ui/requests").status_code == 403


@pytest.mark.parametrize("member", ["police_officer"])
def test_only_staff_with_a_ui_area_may_sign_in(runtime, demo, http, member):
    refused = sign_in(http, f"demo.{member}")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.actor_id, event.reason) == (Outcome.DENY, demo.staff[member], "role_not_for_purpose")
    assert http.get("/ui/events", follow_redirects=False).status_code == 303  # not signed in


def test_a_post_without_its_csrf_token_is_refused(runtime, demo, http):
    http.get("/ui/sign-in")
    refused = http.post("/ui/sign-in", data={"handle": "demo.privacy_officer"})
    assert refused.status_code == 403
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "csrf_invalid"
    assert not events(runtime, action=AuditAction.UI_SIGN_IN)
    sign_in(http, "demo.privacy_officer")
    still_in = http.post("/ui/sign-out", data={"csrf_token": "forged"})
    assert still_in.status_code == 403
    assert http.get("/ui/events").status_code == 200
    page = http.get("/ui/events")
    signed_out = http.post("/ui/sign-out", data={"csrf_token": csrf(page)})
    assert signed_out.status_code == 303
    assert last_event(runtime, action=AuditAction.UI_SIGN_OUT).outcome == Outcome.PERMIT


def test_without_a_session_the_pages_send_to_sign_in_and_record_it(runtime, demo, http):
    answer = http.get("/ui/events", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("/ui/sign-in")
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "session_missing"
    http.cookies.set("gateway-ui", "forged.value")
    assert http.get("/ui/events", follow_redirects=False).status_code == 303
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "session_invalid"


def test_the_session_ends_after_the_idle_timeout(runtime, demo, http, clock):
    sign_in(http, "demo.privacy_officer")
    assert http.get("/ui/events").status_code == 200
    clock.advance(dt.timedelta(seconds=runtime.settings.ui_idle_seconds + 1))
    assert http.get("/ui/events", follow_redirects=False).status_code == 303
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "session_expired"


def test_the_search_filters(runtime, demo, http):
    police_tries_the_demo_client(runtime, demo, http)
    sign_in(http, "demo.privacy_officer")
    page = http.get("/ui/events", params={"actor_id": demo.staff["police_officer"], "outcome": "deny",
                                          "from": "2026-11-23", "to": "2026-11-23"})
    assert page.status_code == 200 and "not_linked" in page.text
    none = http.get("/ui/events", params={"actor_id": demo.staff["police_officer"], "from": "2026-11-24"})
    assert "No events match." in none.text
    party = demo.parties["police"]
    by_party = http.get("/ui/events", params={"party": party, "action": "record.list"})
    assert demo.staff["police_officer"] in by_party.text
    bad = http.get("/ui/events", params={"from": "yesterday"})
    assert bad.status_code == 400 and "text/html" in bad.headers["content-type"]
    assert http.get("/ui/events", params={"action": "no.such"}).status_code == 400
    activity = runtime.covenant.activity_of("nuisance_reduction")
    assert f'<option value="{activity}">' in page.text  # the register's activities to choose from
    served = http.get("/ui/events", params={"activity": activity, "outcome": "deny"})
    assert served.status_code == 200 and demo.staff["police_officer"] in served.text
    assert f'<option value="{activity}" selected>' in served.text
    other = http.get("/ui/events", params={"activity": runtime.covenant.activity_of("statistics"),
                                           "actor_id": demo.staff["police_officer"]})
    assert "No events match." in other.text
    assert http.get("/ui/events", params={"activity": "not an activity"}).status_code == 400


def test_the_controllers_privacy_officer_searches_by_client_reference(runtime, demo, http):
    police_tries_the_demo_client(runtime, demo, http)
    pseudonym = pseudonym_of_demo_client(runtime)
    sign_in(http, "demo.privacy_officer")
    form = http.get("/ui/events")
    assert 'name="client_id"' in form.text and "Client reference" in form.text
    page = http.get("/ui/events", params={"client_id": demo.clients[0], "outcome": "deny"})
    assert page.status_code == 200 and demo.staff["police_officer"] in page.text and pseudonym in page.text
    viewed = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (viewed.outcome, viewed.client_pseudonym, viewed.detail["scope"]) == (Outcome.PERMIT, pseudonym, "all")
    assert demo.clients[0] not in str(viewed.detail)  # the trail names the client by pseudonym only
    assert f'value="{demo.clients[0]}"' in page.text  # the field keeps what was asked
    exported = http.get("/ui/export.csv", params={"client_id": demo.clients[0]})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {row["client_pseudonym"] for row in rows} == {pseudonym}
    export = last_event(runtime, action=AuditAction.AUDIT_EXPORT)
    assert (export.outcome, export.client_pseudonym) == (Outcome.PERMIT, pseudonym)
    unknown = http.get("/ui/events", params={"client_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 404 and last_event(runtime, action=AuditAction.AUDIT_READ).detail == {"found": False}
    assert http.get("/ui/events", params={"client_id": "not-an-id"}).status_code == 400
    both = http.get("/ui/events", params={"client_id": demo.clients[0], "pseudonym": pseudonym})
    assert both.status_code == 400


def test_a_privacy_officer_of_another_party_gets_no_client_reference_field(runtime, demo, http, clock):
    officer_id = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(Staff.__table__.insert().values(**staff_row(
            staff_id=officer_id, party=demo.parties["shelter"], handle="shelter.privacy", roles=["privacy_officer"],
            now=clock())))
    sign_in(http, "shelter.privacy")
    form = http.get("/ui/events")
    assert form.status_code == 200 and 'name="client_id"' not in form.text and "Client reference" not in form.text
    assert 'name="client_id"' not in http.get("/ui/denied").text
    # A crafted query parameter is refused and recorded, as the API refuses it.
    for path in ("/ui/events", "/ui/denied", "/ui/export.csv"):
        refused = http.get(path, params={"client_id": demo.clients[0]})
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
        assert demo.clients[0] not in refused.text
        action = AuditAction.AUDIT_EXPORT if path.endswith(".csv") else AuditAction.AUDIT_READ
        event = last_event(runtime, action=action)
        assert (event.outcome, event.reason, event.actor_id, event.client_pseudonym) == (
            Outcome.DENY, "client_lookup_not_permitted", str(officer_id), None)


def test_unusual_volume(runtime, demo, http):
    manager = token(runtime, demo.staff["client_manager"])
    assert http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(manager, "housing")).status_code == 200
    sign_in(http, "demo.privacy_officer")
    page = http.get("/ui/volume", params={"more_than": 0})
    assert page.status_code == 200 and demo.staff["client_manager"] in page.text
    assert "Nobody above the threshold." in http.get("/ui/volume").text
    event = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert event.object_type == "reader_volume" and event.detail["more_than"] == 20


def test_outside_demo_mode_there_is_no_local_sign_in(runtime, demo, settings):
    from gateway.main import create_app
    from tests.conftest import HTTP_TIMEOUT, LoopbackServer

    runtime.settings = settings.model_copy(update={"mode": "production"})
    with LoopbackServer(create_app(runtime)) as server, httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        form = client.get("/ui/sign-in")  # no demo staff to choose from; no provider configured either
        assert form.status_code == 200 and "demo.privacy_officer" not in form.text and "none is configured" in form.text
        assert client.post("/ui/sign-in", data={"handle": "demo.privacy_officer"}).status_code == 404
        page = client.get("/ui/events", follow_redirects=False)
        assert page.status_code == 401 and "OpenID Connect" in page.text


def test_no_content_of_a_file_reaches_the_pages_or_exports(runtime, demo, http):
    pseudonym = pseudonym_of_demo_client(runtime)
    sign_in(http, "demo.privacy_officer")
    answers = [http.get("/ui/events"), http.get(f"/ui/clients/{pseudonym}"), http.get("/ui/export.csv"),
               http.get("/ui/export.json"), http.get("/ui/volume", params={"more_than": 0})]
    for answer in answers:
        assert answer.status_code == 200
        for fragment in ("night shelter", "room of his own", "medication", "Assessment"):
            assert fragment not in answer.text


def test_a_staff_member_switched_off_after_sign_in_is_refused(runtime, demo, http):
    from sqlalchemy import update

    from gateway.parties.models import Staff

    sign_in(http, "demo.privacy_officer")
    with runtime.writer_engine.begin() as conn:
        conn.execute(update(Staff).where(Staff.handle == "demo.privacy_officer").values(active=False))
    refused = http.get("/ui/events")
    assert refused.status_code == 403
    event = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (event.outcome, event.reason) == (Outcome.DENY, "staff_inactive")


@pytest.mark.tampers
def test_the_banner_names_where_the_trail_breaks(runtime, demo, http):
    from sqlalchemy import update

    from audit import AuditEvent
    from tests.audit.helpers import without_append_only_guard

    with without_append_only_guard(runtime.writer_engine) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(reason="rewritten"))
        conn.commit()
    page = http.get("/ui/sign-in")
    assert "Audit trail broken at event 3" in page.text


def test_outside_demo_mode_the_cookie_is_secure():
    with tempfile.TemporaryDirectory() as folder:
        codec = SessionCodec(Path(folder), secure=True, idle=dt.timedelta(minutes=15))
        response = codec.attach(Response(), UiSession.anonymous(dt.datetime(2026, 11, 23, tzinfo=dt.UTC)))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-gateway-ui=")
    assert all(part in cookie.lower() for part in ("secure", "httponly", "samesite=strict", "path=/"))
