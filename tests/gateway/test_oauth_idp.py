"""A party's own identity provider names its staff; the party's system presents the assertion."""

from __future__ import annotations

import base64
import secrets

import pytest
from joserfc import jwt
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from audit import AuditAction, Outcome
from gateway import operations
from gateway.config import TrustedIdentityProvider
from gateway.oauth.server import JWT_BEARER
from tests.conftest import LoopbackServer
from tests.gateway.helpers import auth, last_event
from tests.gateway.test_oauth import new_key

SHELTER = "opvang-de-haven"
ISSUER = "https://login.opvang-de-haven.example"


class Provider:
    def __init__(self) -> None:
        self.key = new_key("idp-2026")
        self.app = Starlette(routes=[Route("/jwks", lambda request: JSONResponse(
            {"keys": [self.key.as_dict(private=False)]}))])

    def assertion(self, runtime, subject: str, *, key=None, issuer: str = ISSUER) -> str:
        now = int(runtime.clock().timestamp())
        signing = key or self.key
        return jwt.encode({"alg": "ES256", "kid": signing.kid}, {
            "iss": issuer, "sub": subject, "aud": runtime.settings.issuer, "iat": now, "exp": now + 120,
            "jti": secrets.token_urlsafe(16)}, signing)


@pytest.fixture
def provider():
    provider = Provider()
    with LoopbackServer(provider.app) as running:
        provider.url = f"{running.url}/jwks"
        yield provider


@pytest.fixture
def settings(settings, provider):
    return settings.model_copy(update={"trusted_idps": {
        SHELTER: TrustedIdentityProvider(issuer=ISSUER, jwks_url=provider.url)}})


def basic(registration) -> dict[str, str]:
    credentials = base64.b64encode(f"{registration.client_id}:{registration.secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def test_the_partys_provider_names_a_staff_member_for_the_partys_system(runtime, demo, provider, http):
    system = operations.register_partner(runtime, party=SHELTER, name="Registration (no keys of its own)")
    response = http.post("/oauth/token", headers=basic(system), data={
        "grant_type": JWT_BEARER, "assertion": provider.assertion(runtime, "demo.client_manager")})
    assert response.status_code == 200, response.text
    bearer = response.json()["access_token"]
    assert http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(bearer)).status_code == 200
    event = last_event(runtime, action=AuditAction.TOKEN_GRANT)
    assert (event.outcome, event.actor_id, event.source_system) == (
        Outcome.PERMIT, demo.staff["client_manager"], system.client_id)
    assert event.detail["assertion_by"] == "party_identity_provider"


@pytest.mark.parametrize("case,status,reason", [
    ("system_of_another_party", 400, "idp_other_party"),
    ("no_client_authentication", 401, None),
    ("signed_by_another_key", 400, "assertion_signature_invalid"),
    ("staff_of_another_party", 400, "staff_other_party"),
])
def test_a_provider_assertion_is_refused_when_it_must_be(runtime, demo, provider, http, case, status, reason):
    party = demo.parties["municipality"] if case == "system_of_another_party" else SHELTER
    system = operations.register_partner(runtime, party=party, name="Some system")
    subject = "demo.ggz_worker" if case == "staff_of_another_party" else "demo.client_manager"
    assertion = provider.assertion(runtime, subject,
                                   key=new_key(provider.key.kid) if case == "signed_by_another_key" else None)
    headers = {} if case == "no_client_authentication" else basic(system)
    response = http.post("/oauth/token", headers=headers, data={"grant_type": JWT_BEARER, "assertion": assertion})
    assert response.status_code == status, response.text
    event = last_event(runtime, action=AuditAction.TOKEN_GRANT)
    assert event.outcome == Outcome.DENY
    if reason:
        assert event.reason == reason


def test_an_unreachable_provider_refuses_rather_than_trusts(runtime, demo, provider, http, port):
    runtime.settings.trusted_idps[SHELTER] = TrustedIdentityProvider(issuer=ISSUER,
                                                                     jwks_url="http://127.0.0.1:9/jwks")
    system = operations.register_partner(runtime, party=SHELTER, name="Registration")
    response = http.post("/oauth/token", headers=basic(system), data={
        "grant_type": JWT_BEARER, "assertion": provider.assertion(runtime, "demo.client_manager")})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).reason == "idp_keys_unavailable"
