"""Sign-in to the web UI through the party's OpenID Connect provider, outside demo mode, on both
engines: the provider is a stand-in on loopback (``tests/web/oidc_provider.py``).

The gateway runs with production settings made by copying the test's settings (``model_copy`` does
not validate, as in ``test_outside_demo_mode_there_is_no_local_sign_in``): the demo covenant and
plain-http loopback URLs stay possible in the tests while ``Settings`` keeps refusing them in
production. The cookies are then ``Secure`` with the ``__Host-`` prefix, which an http client does not
send back over plain http by itself: the tests send them by hand, as a browser on https would.
"""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import update

from audit import AuditAction, Outcome
from gateway.config import OidcProvider
from gateway.main import create_app
from gateway.parties.models import Staff
from tests.conftest import HTTP_TIMEOUT, LoopbackServer
from tests.gateway.helpers import events, last_event
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, StandInProvider

SESSION = "__Host-gateway-ui"
FLOW = "__Host-gateway-ui-sign-in"


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The cookies a response sets, by name: the whole Set-Cookie line."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def issued_session(response: httpx.Response) -> str | None:
    line = set_cookies(response).get(SESSION)
    return value(line) if line and value(line) not in ("", '""') else None


@pytest.fixture
def provider(clock):
    with StandInProvider(clock, subject="demo.privacy_officer") as running:
        yield running


def production(runtime, providers: dict[str, OidcProvider]) -> None:
    runtime.settings = runtime.settings.model_copy(update={"mode": "production", "oidc_providers": providers})


@pytest.fixture
def party(demo) -> str:
    return demo.parties["municipality"]


@pytest.fixture
def gateway(runtime, demo, provider, party, port):
    production(runtime, {party: OidcProvider(issuer=provider.issuer, client_id=CLIENT_ID,
                                             client_secret=CLIENT_SECRET)})
    with LoopbackServer(create_app(runtime), port) as server, httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        yield client


class Attempt:
    """One sign-in, leg by leg: start at the gateway, through the provider, back to the callback."""

    def __init__(self, gateway: httpx.Client, party: str) -> None:
        self.gateway = gateway
        self.start = gateway.get(f"/ui/sign-in/{party}")
        assert self.start.status_code == 303, self.start.text
        self.flow = value(set_cookies(self.start)[FLOW])
        at_provider = httpx.get(self.start.headers["location"], timeout=HTTP_TIMEOUT)
        assert at_provider.status_code == 302, at_provider.text
        self.callback = at_provider.headers["location"]

    def back(self, callback: str | None = None, *, flow: str | None = None) -> httpx.Response:
        return self.gateway.get(callback or self.callback, headers={"Cookie": f"{FLOW}={flow or self.flow}"})


def sign_in(gateway: httpx.Client, party: str) -> httpx.Response:
    return Attempt(gateway, party).back()


def assert_refused(runtime, gateway, answer: httpx.Response, status: int, reason: str, *, actor_id=None) -> None:
    assert answer.status_code == status, answer.text
    assert "text/html" in answer.headers["content-type"] and "Traceback" not in answer.text
    assert issued_session(answer) is None
    assert FLOW in set_cookies(answer) and value(set_cookies(answer)[FLOW]) in ("", '""')  # the flow is over
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.reason, event.actor_id, event.purpose) == (Outcome.DENY, reason, actor_id,
                                                                            "oversight")
    assert not events(runtime, action=AuditAction.UI_SIGN_IN, outcome=Outcome.PERMIT)
    assert gateway.get("/ui/events").status_code == 401  # still nobody signed in


def test_a_privacy_officer_signs_in_through_the_partys_provider(runtime, demo, gateway, provider, party):
    page = gateway.get("/ui/sign-in")
    assert page.status_code == 200
    assert f"Sign in with {html.escape(runtime.covenant.parties[party].name)}" in page.text

    attempt = Attempt(gateway, party)
    asked = parse_qs(urlsplit(attempt.start.headers["location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0]
    assert asked["state"][0] and asked["nonce"][0] and asked["client_id"] == [CLIENT_ID]
    assert asked["redirect_uri"] == [f"{runtime.settings.public_url}/ui/sign-in/{party}/callback"]
    flow_cookie = set_cookies(attempt.start)[FLOW].lower()
    assert all(part in flow_cookie for part in ("httponly", "secure", "samesite=lax", "path=/", "max-age=600"))
    assert asked["state"][0] not in attempt.start.headers["location"].split("?")[0]

    answer = attempt.back()
    assert answer.status_code == 200 and "Signed in" in answer.text
    assert 'http-equiv="refresh"' in answer.text  # a page of ours leads on: the Strict cookie comes along
    cookie = set_cookies(answer)[SESSION].lower()
    assert all(part in cookie for part in ("secure", "httponly", "samesite=strict", "path=/"))
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.actor_id, event.actor_party, event.purpose, event.detail) == (
        Outcome.PERMIT, demo.staff["privacy_officer"], party, "oversight", {"provider": party})
    assert "demo.privacy_officer" not in str(event.detail)  # the handle is not recorded

    session = issued_session(answer)
    trail = gateway.get("/ui/events", headers={"Cookie": f"{SESSION}={session}"})
    assert trail.status_code == 200 and "Search the trail" in trail.text
    viewed = last_event(runtime, action=AuditAction.AUDIT_READ)
    assert (viewed.outcome, viewed.actor_id) == (Outcome.PERMIT, demo.staff["privacy_officer"])

    # The flow's cookie is no session, nor the other way round.
    assert gateway.get("/ui/events", headers={"Cookie": f"{SESSION}={attempt.flow}"}).status_code == 401


def test_a_callback_with_another_state_is_refused_before_the_code_is_redeemed(runtime, demo, gateway, provider,
                                                                             party):
    attempt = Attempt(gateway, party)
    forged = attempt.callback.replace("state=", "state=x")
    assert_refused(runtime, gateway, attempt.back(forged), 400, "oidc_state_mismatch")
    assert provider.token_requests == 0


def test_a_callback_without_its_flow_cookie_is_refused(runtime, demo, gateway, provider, party):
    attempt = Attempt(gateway, party)
    answer = gateway.get(attempt.callback)
    assert_refused(runtime, gateway, answer, 400, "oidc_flow_missing")
    assert provider.token_requests == 0


def test_a_flow_older_than_ten_minutes_is_refused(runtime, demo, gateway, provider, party, clock):
    attempt = Attempt(gateway, party)
    clock.advance(dt.timedelta(minutes=11))
    assert_refused(runtime, gateway, attempt.back(), 400, "oidc_flow_expired")


def test_a_replayed_callback_is_refused(runtime, demo, gateway, provider, party):
    attempt = Attempt(gateway, party)
    assert attempt.back().status_code == 200
    # The same code and flow again (a callback URL and cookie caught in transit): a code is redeemed once.
    replayed = attempt.back()
    assert replayed.status_code == 401 and issued_session(replayed) is None
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.reason) == (Outcome.DENY, "oidc_code_refused")


@pytest.mark.parametrize("claims,reason", [
    ({"nonce": "the-nonce-of-another-sign-in"}, "oidc_nonce_mismatch"),
    ({"aud": "another-client"}, "oidc_audience_mismatch"),
    ({"aud": [CLIENT_ID, "another-client"]}, "oidc_audience_mismatch"),  # several audiences, no azp
    ({"iss": "https://login.elsewhere.example"}, "oidc_issuer_mismatch"),
    ({"exp": int(dt.datetime(2026, 11, 23, 8, 58, tzinfo=dt.UTC).timestamp())}, "oidc_id_token_expired"),
    ({"sub": None}, "oidc_id_token_invalid"),
], ids=["nonce", "audience", "audiences_without_azp", "issuer", "expired", "no_sub"])
def test_an_id_token_that_does_not_hold_is_refused(runtime, demo, gateway, provider, party, claims, reason):
    provider.misbehave = {"claims": claims}
    assert_refused(runtime, gateway, sign_in(gateway, party), 401, reason)


def test_an_id_token_signed_by_another_key_is_refused(runtime, demo, gateway, provider, party):
    provider.misbehave = {"key": RSAKey.generate_key(2048, parameters={"kid": provider.key.kid})}
    assert_refused(runtime, gateway, sign_in(gateway, party), 401, "oidc_id_token_invalid")


@pytest.mark.parametrize("subject,reason,actor", [
    ("demo.client_manager", "staff_other_party", None),  # a shelter's staff member, named by the municipality
    ("nobody.known", "staff_unknown", None),
    ("demo.privacy_officer", "staff_inactive", "privacy_officer"),
])
def test_the_staff_member_named_must_have_a_ui_area_in_that_party(runtime, demo, gateway, provider, party,
                                                               subject, reason, actor):
    provider.subject = subject
    if reason == "staff_inactive":
        with runtime.writer_engine.begin() as conn:
            conn.execute(update(Staff).where(Staff.handle == subject).values(active=False))
    answer = sign_in(gateway, party)
    assert_refused(runtime, gateway, answer, 403, reason, actor_id=demo.staff[actor] if actor else None)
    assert subject not in answer.text


def test_the_provider_refusing_the_sign_in_is_recorded(runtime, demo, gateway, provider, party):
    attempt = Attempt(gateway, party)
    state = parse_qs(urlsplit(attempt.callback).query)["state"][0]
    answer = attempt.back(f"{attempt.callback.split('?')[0]}?error=access_denied&state={state}")
    assert_refused(runtime, gateway, answer, 401, "oidc_provider_refused")


def test_an_unreachable_provider_is_a_bad_gateway_not_a_traceback(runtime, demo, gateway, provider, party, port):
    runtime.settings.oidc_providers[party] = OidcProvider(issuer="http://127.0.0.1:9", client_id=CLIENT_ID,
                                                          client_secret=CLIENT_SECRET)
    answer = gateway.get(f"/ui/sign-in/{party}")
    assert answer.status_code == 502 and "text/html" in answer.headers["content-type"]
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.reason, event.detail) == (Outcome.DENY, "oidc_provider_unavailable",
                                                           {"provider": party})
    assert issued_session(answer) is None


def test_a_provider_that_goes_down_mid_sign_in_is_a_bad_gateway(runtime, demo, gateway, provider, party):
    attempt = Attempt(gateway, party)
    provider.__exit__(None, None, None)
    assert_refused(runtime, gateway, attempt.back(), 502, "oidc_provider_unavailable")


def test_a_party_without_a_provider_is_not_found(runtime, demo, gateway, provider):
    answer = gateway.get(f"/ui/sign-in/{demo.parties['police']}")
    assert answer.status_code == 404
    event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
    assert (event.outcome, event.reason, event.detail) == (Outcome.DENY, "oidc_provider_unknown", None)


def test_the_callback_of_one_party_does_not_take_a_flow_of_another(runtime, demo, provider, party, port, clock):
    with StandInProvider(clock, subject="demo.client_manager") as shelter_provider:
        shelter = demo.parties["shelter"]
        production(runtime, {
            party: OidcProvider(issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
            shelter: OidcProvider(issuer=shelter_provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)})
        with LoopbackServer(create_app(runtime), port) as server, httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as gateway:
            attempt = Attempt(gateway, shelter)
            mixed_up = attempt.callback.replace(f"/ui/sign-in/{shelter}/", f"/ui/sign-in/{party}/")
            assert_refused(runtime, gateway, attempt.back(mixed_up), 400, "oidc_state_mismatch")


def test_production_settings_demand_an_https_issuer(tmp_path):
    from pydantic import ValidationError

    from gateway.config import Settings

    with pytest.raises(ValidationError, match="GATEWAY_OIDC_PROVIDERS"):
        Settings(_env_file=None, mode="production", covenant_file=__file__, database_url="sqlite:///gateway.db",
                 keys_dir=tmp_path, public_url="https://gateway.example",
                 oidc_providers={"x": {"issuer": "http://idp.example", "client_id": "a", "client_secret": "b"}})


def test_a_client_manager_signs_in_through_the_shelters_provider_to_the_requests(runtime, demo, provider, port):
    shelter = demo.parties["shelter"]
    provider.subject = "demo.client_manager"
    production(runtime, {shelter: OidcProvider(issuer=provider.issuer, client_id=CLIENT_ID,
                                               client_secret=CLIENT_SECRET)})
    with LoopbackServer(create_app(runtime), port) as server, httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
        answer = sign_in(client, shelter)
        assert answer.status_code == 200 and "/ui/requests" in answer.text  # the page leads on to the requests
        event = last_event(runtime, action=AuditAction.UI_SIGN_IN)
        assert (event.outcome, event.actor_id, event.purpose, event.detail) == (
            Outcome.PERMIT, demo.staff["client_manager"], "subject_rights", {"provider": shelter})
        queue = client.get("/ui/requests", headers={"Cookie": f"{SESSION}={issued_session(answer)}"})
        assert queue.status_code == 200 and "Open requests" in queue.text
