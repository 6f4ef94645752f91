"""The privacy officers' web UI over HTTP, on both engines: sign-in, CSRF, who may use it, the pages,
the exports, and that each of these is decided and recorded."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
from pathlib import Path

import httpx
import pytest
from starlette.responses import Response

from audit import AuditAction, Outcome
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
    export = last_event(runtime, action=AuditAction.AUDIT_EXPORT)
    assert export.outcome == Outcome.PERMIT and export.detail["format"] == "csv"
    assert export.detail["returned"] == len(rows)
    assert export.detail["filter"] == {"pseudonym": pseudonym, "outcome": "deny"}
    as_json = http.get("/ui/export.json", params={"pseudonym": pseudonym})
    assert as_json.status_code == 200 and {item["client_pseudonym"] for item in as_json.json()} == {pseudonym}


@pytest.mark.parametrize("member", ["police_officer", "client_manager", "field_director"])
def test_only_privacy_officers_may_sign_in(runtime, demo, http, member):
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
    from tests.conftest import LoopbackServer

    runtime.settings = settings.model_copy(update={"mode": "production"})
    with LoopbackServer(create_app(runtime)) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/ui/sign-in").status_code == 404
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
