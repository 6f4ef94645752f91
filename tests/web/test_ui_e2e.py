"""The web UI in a real browser: headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright,
against the gateway served over loopback. SQLite only: the HTTP-level tests cover both engines.

Playwright's own browser builds are never downloaded. Without Chromium these tests are skipped, with
the reason, except on CI (``CI=true``), where they fail: ``make`` installs Debian's ``chromium``.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from pathlib import Path

import pytest

from audit import AuditAction, Outcome
from gateway.emergency.models import EmergencyAccess
from tests.conftest import ON_CI
from tests.gateway.helpers import auth, last_event, token

CHROMIUM = Path(os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the python package playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; make does it as root)"
    return None


@pytest.fixture
def browser():
    problem = _missing()
    if problem:
        if ON_CI:
            pytest.fail(problem + " (CI requires the browser tests)", pytrace=False)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # The UI works without JavaScript: the browser runs none of the pages' (there is none to run).
    context = browser.new_context(accept_downloads=True, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture(params=["sqlite"])
def engine_name(request) -> str:
    return request.param


def sign_in(page, server, handle: str):
    page.goto(f"{server.url}/ui/sign-in")
    page.get_by_label("Staff member").select_option(handle)
    page.get_by_role("button", name="Sign in").click()


def test_a_privacy_officer_finds_a_denied_attempt_and_exports_the_client_history(runtime, demo, server, http,
                                                                                  page, tmp_path):
    police = token(runtime, demo.staff["police_officer"])
    refused = http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(police, "nuisance_reduction"))
    assert refused.status_code in (403, 404)

    sign_in(page, server, "demo.privacy_officer")
    assert page.get_by_role("heading", level=1).inner_text() == "Search the trail"
    assert "Audit trail verified intact up to event" in page.get_by_role("status").inner_text()

    page.get_by_role("link", name="Denied attempts").click()
    page.get_by_label("Staff member id").fill(demo.staff["police_officer"])
    page.get_by_role("button", name="Search").click()
    denied = page.get_by_role("table", name="Denied attempts")
    row = denied.get_by_role("row").filter(has_text="not_linked").first
    assert demo.staff["police_officer"] in row.inner_text() and "deny" in row.inner_text()

    row.get_by_role("link").click()  # the client's pseudonym: their whole access history
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Access history of client ")
    pseudonym = heading.removeprefix("Access history of client ").strip()
    history = page.get_by_role("table", name=f"Access history of {pseudonym}")
    assert history.get_by_role("row").filter(has_text="record.write").count() >= 1
    assert history.get_by_role("row").filter(has_text="not_linked").count() == 1

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    target = tmp_path / "export.csv"
    download_info.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows and {row["client_pseudonym"] for row in rows} == {pseudonym}
    denials = [row for row in rows if row["outcome"] == "deny"]
    assert [(row["actor_id"], row["reason"]) for row in denials] == [(demo.staff["police_officer"], "not_linked")]
    assert {"record.write", "client.register"} <= {row["action"] for row in rows}
    export = last_event(runtime, action=AuditAction.AUDIT_EXPORT)
    assert (export.outcome, export.actor_id, export.detail["returned"]) == (
        Outcome.PERMIT, demo.staff["privacy_officer"], len(rows))

    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in (demo)"
    assert last_event(runtime, action=AuditAction.UI_SIGN_OUT).outcome == Outcome.PERMIT


def test_someone_who_is_no_privacy_officer_is_refused(runtime, demo, server, page):
    sign_in(page, server, "demo.police_officer")
    assert page.get_by_role("heading", level=1).inner_text().endswith("(403)")
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.actor_id) == (Outcome.DENY, demo.staff["police_officer"])
    page.goto(f"{server.url}/ui/events")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in (demo)"  # still not signed in


def test_a_form_without_its_csrf_token_is_refused(runtime, demo, server, page):
    page.goto(f"{server.url}/ui/sign-in")
    page.locator("input[name=csrf_token]").evaluate("field => field.remove()")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Form refused (403)"
    assert last_event(runtime, action=AuditAction.REQUEST_REJECTED).reason == "csrf_invalid"


def test_a_privacy_officer_records_a_break_the_glass_review(runtime, demo, server, http, page):
    police = token(runtime, demo.staff["police_officer"])
    opened = http.post(f"/v1/clients/{demo.clients[0]}/emergency-access", headers=auth(police, "nuisance_reduction"),
                       json={"reason": "found unconscious at the station, need the care contacts"})
    assert opened.status_code == 201, opened.text

    sign_in(page, server, "demo.privacy_officer")
    page.get_by_role("link", name="Break-the-glass review").click()
    waiting = page.get_by_role("table", name="Windows waiting for review")
    row = waiting.get_by_role("row").filter(has_text=demo.staff["police_officer"])
    assert "found unconscious at the station" in row.inner_text()
    row.get_by_label("justified", exact=True).check()
    row.get_by_label("Note").fill("Confirmed with the shift leader; the emergency was real.")
    row.get_by_role("button", name="Record review").click()

    assert page.get_by_text("Review recorded.").is_visible()
    assert "No windows waiting for review." in page.get_by_role("table", name="Windows waiting for review").inner_text()
    event = last_event(runtime, action=AuditAction.EMERGENCY_REVIEW)
    assert (event.outcome, event.actor_id, event.object_id, event.detail) == (
        Outcome.PERMIT, demo.staff["privacy_officer"], opened.json()["id"], {"outcome": "justified"})
    assert "shift leader" not in str(event.detail)


def test_a_review_without_its_csrf_token_is_refused(runtime, demo, server, http, page):
    police = token(runtime, demo.staff["police_officer"])
    opened = http.post(f"/v1/clients/{demo.clients[0]}/emergency-access", headers=auth(police, "nuisance_reduction"),
                       json={"reason": "found unconscious at the station, need the care contacts"})
    assert opened.status_code == 201
    sign_in(page, server, "demo.privacy_officer")
    page.goto(f"{server.url}/ui/emergency")
    row = page.get_by_role("table", name="Windows waiting for review").get_by_role("row").filter(
        has_text=demo.staff["police_officer"])
    row.locator("input[name=csrf_token]").evaluate("field => field.remove()")
    row.get_by_label("unjustified").check()
    row.get_by_label("Note").fill("x")
    row.get_by_role("button", name="Record review").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Form refused (403)"
    with runtime.session() as session:
        assert session.get(EmergencyAccess, uuid.UUID(opened.json()["id"])).reviewed_at is None


def test_outside_demo_mode_a_privacy_officer_signs_in_through_the_partys_provider(runtime, demo, page, port, clock):
    from playwright.sync_api import expect

    from gateway.config import OidcProvider
    from gateway.main import create_app
    from tests.conftest import LoopbackServer
    from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, StandInProvider
    from tests.web.test_ui_oidc import production

    party = demo.parties["municipality"]
    # The provider at "localhost", the gateway at 127.0.0.1: two sites, as in earnest, and the way back
    # starts from the provider's own page, so that it meets the browser's SameSite rules for the flow
    # cookie (Lax: sent back) and the session cookie (Strict: not sent within that navigation).
    with StandInProvider(clock, subject="demo.privacy_officer", host="localhost", login_page=True) as provider:
        production(runtime, {party: OidcProvider(issuer=provider.issuer, client_id=CLIENT_ID,
                                                 client_secret=CLIENT_SECRET)})
        with LoopbackServer(create_app(runtime), port) as server:
            page.goto(f"{server.url}/ui/events")
            assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
            page.get_by_role("link", name=f"Sign in with {runtime.covenant.parties[party].name}").click()
            page.get_by_role("link", name="Continue as demo.privacy_officer").click()  # at the provider
            # Back, to a page that leads on to the trail (no JavaScript).
            expect(page.get_by_role("heading", level=1)).to_have_text("Search the trail")
            assert "Audit trail verified intact up to event" in page.get_by_role("status").inner_text()
            event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
            assert (event.outcome, event.actor_id, event.detail) == (
                Outcome.PERMIT, demo.staff["privacy_officer"], {"provider": party})

            page.get_by_role("link", name="Denied attempts").click()
            assert page.get_by_role("heading", level=1).inner_text() == "Denied attempts"
            page.get_by_role("button", name="Sign out").click()
            assert page.get_by_role("heading", level=1).inner_text() == "Signed out"
            assert last_event(runtime, action=AuditAction.UI_SIGN_OUT).outcome == Outcome.PERMIT


def test_a_client_manager_records_decides_and_downloads_the_letter_of_a_correction(runtime, demo, server, page,
                                                                                      tmp_path):
    from pypdf import PdfReader

    from gateway.rights.models import RightsRequest

    reasons = "The night shelter's log shows the client was in hospital that week."
    sign_in(page, server, "demo.client_manager")
    assert page.get_by_role("heading", level=1).inner_text() == "Requests"
    navigation = page.get_by_role("navigation", name="Pages")
    assert navigation.get_by_role("link", name="Requests").is_visible()
    assert navigation.get_by_role("link", name="Search the trail").count() == 0
    assert "No open requests." in page.get_by_role("table", name="Open requests").inner_text()

    page.get_by_label("Kind of request").select_option("correction")  # the demo client is the only one
    page.get_by_role("button", name="Next").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Record a correction request of client ")
    entry = page.get_by_label("Entry to correct")
    entry.select_option(label=next(text for text in entry.locator("option").all_inner_texts()
                                   if text.startswith("intake")))
    page.get_by_label("What the client asks").select_option("improve")
    page.get_by_label("What the client says").fill("I was in hospital in October, I did not refuse help.")
    page.get_by_role("button", name="Record the request").click()
    assert page.get_by_text("Done: recorded.").is_visible()
    opened = last_event(runtime, action=AuditAction.REQUEST_OPEN)
    assert (opened.outcome, opened.actor_id) == (Outcome.PERMIT, demo.staff["client_manager"])
    with runtime.session() as session:
        request = session.get(RightsRequest, uuid.UUID(opened.object_id))
        due = request.decision_due.isoformat()

    navigation.get_by_role("link", name="Requests").click()
    row = page.get_by_role("table", name="Open requests").get_by_role("row").filter(has_text="correction")
    assert due in row.inner_text() and "received" in row.inner_text()
    row.get_by_role("link").click()
    page.get_by_role("button", name="Take into review").click()
    assert page.get_by_text("Done: review.").is_visible()
    page.get_by_label("granted", exact=True).check()
    page.get_by_label("Reasons").fill(reasons)
    page.get_by_role("button", name="Decide").click()
    assert page.get_by_text("Done: decide.").is_visible()
    decided = last_event(runtime, action=AuditAction.REQUEST_DECIDE)
    assert (decided.outcome, decided.detail["outcome"]) == (Outcome.PERMIT, "granted")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Decision letter (PDF, nl)").click()
    target = tmp_path / "letter.pdf"
    download_info.value.save_as(target)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(target).pages).split())
    assert "Wij wijzen uw verzoek om correctie toe." in text and reasons in text
    assert opened.client_pseudonym in text and opened.object_id in text
    letter = last_event(runtime, action=AuditAction.REQUEST_LETTER)
    assert (letter.outcome, letter.actor_id, letter.detail["language"]) == (
        Outcome.PERMIT, demo.staff["client_manager"], "nl")
