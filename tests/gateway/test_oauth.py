"""Partner systems over OAuth 2: the real flow over loopback, and each way it must fail."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import update

from audit import AuditAction, Outcome
from examples.partner_client import run as run_example
from gateway import operations
from gateway.oauth.server import JWT_BEARER
from gateway.parties.models import Staff
from tests.gateway.helpers import auth, events, last_event


def new_key(kid: str = "system-1") -> ECKey:
    return ECKey.generate_key("P-256", private=True, parameters={"kid": kid, "use": "sig", "alg": "ES256"})


class Partner:
    """A registered partner system of the demo shelter, with its signing key."""

    def __init__(self, runtime, party: str, *, key: ECKey | None = None, name: str = "Shelter registration",
                 scopes=None) -> None:
        self.runtime = runtime
        self.key = key or new_key()
        registration = operations.register_partner(
            runtime, party=party, name=name, scopes=scopes,
            jwks=json.dumps({"keys": [self.key.as_dict(private=False)]}))
        self.client_id = registration.client_id

    def assertion(self, subject: str | None, *, key: ECKey | None = None, lifetime: int = 120, **claims) -> str:
        now = int(self.runtime.clock().timestamp())
        body = {"iss": self.client_id, "aud": self.runtime.settings.issuer, "iat": now, "exp": now + lifetime,
                "jti": secrets.token_urlsafe(16)}
        if subject is not None:
            body["sub"] = subject
        body.update(claims)
        signing = key or self.key
        return jwt.encode({"alg": "ES256", "kid": signing.kid}, {k: v for k, v in body.items() if v is not None},
                          signing)

    def client_assertion(self, **claims) -> dict[str, str]:
        now = int(self.runtime.clock().timestamp())
        body = {"iss": self.client_id, "sub": self.client_id, "aud": f"{self.runtime.settings.public_url}/oauth/token",
                "iat": now, "exp": now + 300, "jti": secrets.token_urlsafe(16), **claims}
        return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": jwt.encode({"alg": "ES256", "kid": self.key.kid}, body, self.key)}


@pytest.fixture
def partner(runtime, demo) -> Partner:
    return Partner(runtime, demo.parties["shelter"])


def token_for(http, partner: Partner, staff: str, **form) -> dict:
    response = http.post("/oauth/token", data={"grant_type": JWT_BEARER, "assertion": partner.assertion(staff), **form})
    assert response.status_code == 200, response.text
    return response.json()


# --- the whole flow, as a partner's developer runs it ----------------------------------------------------

def test_the_example_partner_client_runs_the_whole_flow(runtime, demo, partner, server, clock, http):
    clock.set(dt.datetime.now(dt.UTC))  # Authlib's client signs with the wall clock
    outcome = run_example(server.url, client_id=partner.client_id, key=partner.key.as_dict(private=True),
                          staff=demo.staff["client_manager"], client=demo.clients[0], purpose="wellbeing")
    assert outcome.system_scopes == "events:write"
    assert outcome.system_token_active is True
    assert outcome.staff_scopes == "records:read"
    assert (outcome.entries_status, outcome.revoked) == (200, True)

    grants = events(runtime, action=AuditAction.TOKEN_GRANT)
    assert [(event.outcome, event.actor_id) for event in grants] == [
        (Outcome.PERMIT, partner.client_id), (Outcome.PERMIT, demo.staff["client_manager"])]
    assert all(event.source_system == partner.client_id for event in grants)
    assert grants[1].detail["grant_type"] == JWT_BEARER
    listed = last_event(runtime, action=AuditAction.RECORD_LIST)
    assert (listed.outcome, listed.actor_id, listed.source_system) == (
        Outcome.PERMIT, demo.staff["client_manager"], partner.client_id)
    assert last_event(runtime, action=AuditAction.TOKEN_INTROSPECT).reason == "active"
    revoked = last_event(runtime, action=AuditAction.TOKEN_REVOKE)
    assert (revoked.reason, revoked.object_id) == ("revoked", grants[1].object_id)


def test_a_revoked_token_is_refused_from_the_next_request_on(runtime, demo, partner, http):
    issued = token_for(http, partner, demo.staff["client_manager"])
    bearer = issued["access_token"]
    url = f"/v1/clients/{demo.clients[0]}/entries"
    assert http.get(url, headers=auth(bearer)).status_code == 200  # verified and cached
    revoked = http.post("/oauth/revoke", data={"token": bearer, **partner.client_assertion()})
    assert revoked.status_code == 200
    response = http.get(url, headers=auth(bearer))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "token_revoked"
    introspected = http.post("/oauth/introspect", data={"token": bearer, **partner.client_assertion()})
    assert introspected.json() == {"active": False}


def test_a_system_token_carries_only_events_and_notifications_and_names_the_system(runtime, demo, partner, http):
    response = http.post("/oauth/token", data={"grant_type": "client_credentials", **partner.client_assertion()})
    assert response.status_code == 200, response.text
    body = response.json()
    # Events to report, and the party's notifications of corrections to fetch (GDPR art. 19).
    assert (body["token_type"], body["scope"], body["expires_in"]) == ("Bearer", "events:write notifications:read",
                                                                       600)
    claims = runtime.tokens.verify(body["access_token"], runtime.clock())
    assert (claims.subject, claims.client_id, claims.party) == (partner.client_id, partner.client_id,
                                                                demo.parties["shelter"])
    # It opens no file: reading needs a staff member.
    refused = http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(body["access_token"]))
    assert refused.status_code in (401, 403)


def test_a_system_that_cannot_sign_uses_its_secret_and_acts_only_for_itself(runtime, demo, http):
    registration = operations.register_partner(runtime, party=demo.parties["municipality"], name="Income system")
    assert registration.secret and registration.auth_method == "client_secret_basic"
    basic = base64.b64encode(f"{registration.client_id}:{registration.secret}".encode()).decode()
    good = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     headers={"Authorization": f"Basic {basic}"})
    assert good.status_code == 200, good.text
    wrong = base64.b64encode(f"{registration.client_id}:{registration.secret}x".encode()).decode()
    bad = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {wrong}"})
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).outcome == Outcome.DENY
    # Without a key it cannot sign an assertion naming a staff member.
    staff = http.post("/oauth/token", headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": JWT_BEARER, "assertion": jwt.encode({"alg": "ES256"}, {
            "iss": registration.client_id, "sub": demo.staff["client_manager"]}, new_key())})
    assert staff.status_code in (400, 401)


# --- each refusal: the right answer and an event ---------------------------------------------------------

def _deactivate(runtime, staff_id):
    with runtime.writer_engine.begin() as conn:
        conn.execute(update(Staff).where(Staff.id == uuid.UUID(staff_id)).values(active=False))


@pytest.mark.parametrize("case,status,error,reason", [
    ("expired", 400, "invalid_grant", "assertion_expired"),
    ("not_yet_valid", 400, "invalid_grant", "assertion_not_yet_valid"),
    ("issued_in_the_future", 400, "invalid_grant", "assertion_not_yet_valid"),
    ("too_long_lived", 400, "invalid_grant", "assertion_lifetime_too_long"),
    ("wrong_audience", 400, "invalid_grant", "assertion_audience_invalid"),
    ("wrong_signature", 400, "invalid_grant", "assertion_signature_invalid"),
    ("no_subject", 400, "invalid_grant", "assertion_claims_invalid"),
    ("unknown_client", 400, "invalid_grant", "client_unknown"),
    ("unknown_staff", 400, "invalid_grant", "staff_unknown"),
    ("staff_of_another_party", 400, "invalid_grant", "staff_other_party"),
    ("deactivated_staff", 400, "invalid_grant", "staff_inactive"),
    ("scope_not_for_the_role", 400, "invalid_scope", "scope_not_allowed"),
    ("scope_unknown", 400, "invalid_scope", None),
])
def test_an_assertion_is_refused_with_the_right_error_and_on_record(runtime, demo, partner, http, clock,
                                                                    case, status, error, reason):
    manager = demo.staff["client_manager"]
    now = int(clock().timestamp())
    form = {"grant_type": JWT_BEARER}
    if case == "expired":
        form["assertion"] = partner.assertion(manager, iat=now - 600, exp=now - 120)
    elif case == "not_yet_valid":
        form["assertion"] = partner.assertion(manager, nbf=now + 120)
    elif case == "issued_in_the_future":
        form["assertion"] = partner.assertion(manager, iat=now + 120, exp=now + 200)
    elif case == "too_long_lived":
        form["assertion"] = partner.assertion(manager, lifetime=3600)
    elif case == "wrong_audience":
        form["assertion"] = partner.assertion(manager, aud="https://elsewhere.example")
    elif case == "wrong_signature":
        form["assertion"] = partner.assertion(manager, key=new_key(partner.key.kid))
    elif case == "no_subject":
        form["assertion"] = partner.assertion(None)
    elif case == "unknown_client":
        form["assertion"] = partner.assertion(manager, iss="no-such-system")
    elif case == "unknown_staff":
        form["assertion"] = partner.assertion(str(uuid.uuid4()))
    elif case == "staff_of_another_party":
        form["assertion"] = partner.assertion(demo.staff["ggz_worker"])
    elif case == "deactivated_staff":
        _deactivate(runtime, manager)
        form["assertion"] = partner.assertion(manager)
    elif case == "scope_not_for_the_role":
        form.update(assertion=partner.assertion(manager), scope="records:read audit:read")
    elif case == "scope_unknown":
        form.update(assertion=partner.assertion(manager), scope="records:everything")
    response = http.post("/oauth/token", data=form)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert response.headers["cache-control"] == "no-store"
    event = last_event(runtime, action=AuditAction.TOKEN_GRANT)
    assert event.outcome == Outcome.DENY
    if reason is not None:
        assert event.reason == reason


def test_an_assertion_is_used_once(runtime, demo, partner, http):
    assertion = partner.assertion(demo.staff["client_manager"])
    first = http.post("/oauth/token", data={"grant_type": JWT_BEARER, "assertion": assertion})
    again = http.post("/oauth/token", data={"grant_type": JWT_BEARER, "assertion": assertion})
    assert first.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).reason == "assertion_replayed"


def test_a_client_assertion_is_used_once_too(runtime, partner, http):
    authentication = partner.client_assertion()
    assert http.post("/oauth/token", data={"grant_type": "client_credentials", **authentication}).status_code == 200
    again = http.post("/oauth/token", data={"grant_type": "client_credentials", **authentication})
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).reason == "assertion_replayed"


def test_an_unknown_client_is_401_invalid_client(runtime, partner, http):
    now = int(runtime.clock().timestamp())
    body = {"iss": "no-such-system", "sub": "no-such-system", "aud": runtime.settings.issuer, "exp": now + 60,
            "jti": secrets.token_urlsafe(16)}
    response = http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": jwt.encode({"alg": "ES256", "kid": partner.key.kid}, body, partner.key)})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).reason == "client_unknown"


@pytest.mark.parametrize("body,headers", [
    ('{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}),
    ("grant_type=client_credentials&grant_type=client_credentials",
     {"Content-Type": "application/x-www-form-urlencoded"}),
])
def test_a_token_request_that_is_no_proper_form_is_invalid_request(runtime, http, body, headers):
    response = http.post("/oauth/token", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).reason == "request_invalid"


# --- tokens stay bound to what they were issued for ------------------------------------------------------

def test_a_token_counts_only_for_the_party_it_was_issued_to(runtime, demo, partner, http):
    bearer = token_for(http, partner, demo.staff["client_manager"])["access_token"]
    with runtime.writer_engine.begin() as conn:  # the staff member moves to another party
        conn.execute(update(Staff).where(Staff.id == uuid.UUID(demo.staff["client_manager"]))
                     .values(party_id=demo.parties["municipality"]))
    response = http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(bearer))
    assert response.status_code == 401
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "token_party_mismatch"


def test_switching_a_system_off_stops_its_staff_tokens_at_once(runtime, demo, partner, http):
    bearer = token_for(http, partner, demo.staff["client_manager"])["access_token"]
    url = f"/v1/clients/{demo.clients[0]}/entries"
    assert http.get(url, headers=auth(bearer)).status_code == 200
    operations.deactivate_partner(runtime, client_id=partner.client_id)
    assert http.get(url, headers=auth(bearer)).status_code == 401
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "client_inactive"
    refused = http.post("/oauth/token", data={"grant_type": JWT_BEARER,
                                              "assertion": partner.assertion(demo.staff["client_manager"])})
    assert refused.status_code == 400
    assert last_event(runtime, action=AuditAction.TOKEN_GRANT).reason == "client_inactive"


def test_a_system_may_not_revoke_or_inspect_another_systems_tokens(runtime, demo, partner, http):
    other = Partner(runtime, demo.parties["shelter"], name="Shelter day care")
    bearer = token_for(http, partner, demo.staff["client_manager"])["access_token"]
    assert http.post("/oauth/introspect", data={"token": bearer, **other.client_assertion()}).json() == {
        "active": False}
    assert http.post("/oauth/revoke", data={"token": bearer, **other.client_assertion()}).status_code == 200
    assert last_event(runtime, action=AuditAction.TOKEN_REVOKE).reason == "not_this_clients_token"
    assert http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(bearer)).status_code == 200
    mine = http.post("/oauth/introspect", data={"token": bearer, **partner.client_assertion()}).json()
    assert (mine["active"], mine["sub"], mine["client_id"]) == (True, demo.staff["client_manager"], partner.client_id)


# --- the signing keys rotate -------------------------------------------------------------------------------

def test_a_rotated_signing_key_verifies_until_its_overlap_ends(runtime, demo, partner, http, clock):
    old_key = runtime.tokens.ring.active().key
    before = token_for(http, partner, demo.staff["client_manager"])["access_token"]
    new_kid, _ = operations.rotate_signing_keys(runtime)
    url = f"/v1/clients/{demo.clients[0]}/entries"
    assert http.get(url, headers=auth(before)).status_code == 200  # signed before the rotation, still valid
    after = token_for(http, partner, demo.staff["client_manager"])["access_token"]
    assert jwt.decode(after, runtime.tokens.ring.active().key).header["kid"] == new_kid
    kids = {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}
    assert kids == {new_kid, old_key.kid}

    # A day later the old key is forgotten: a token signed with a kept copy of it is refused.
    clock.advance(dt.timedelta(days=1))
    now = int(clock().timestamp())
    forged = jwt.encode({"alg": "ES256", "kid": old_key.kid, "typ": "at+jwt"}, {
        "iss": runtime.settings.issuer, "aud": runtime.settings.audience, "sub": demo.staff["client_manager"],
        "client_id": partner.client_id, "party": demo.parties["shelter"], "scope": "records:read",
        "iat": now, "nbf": now, "exp": now + 300, "jti": secrets.token_urlsafe(8)}, old_key)
    response = http.get(url, headers=auth(forged))
    assert response.status_code == 401
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == "token_key_unknown"
    assert {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]} == {new_kid}


def test_the_metadata_names_the_endpoints_and_the_keys(runtime, http):
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    base = runtime.settings.public_url
    assert metadata["issuer"] == runtime.settings.issuer == base
    assert metadata["token_endpoint"] == f"{base}/oauth/token"
    assert set(metadata["grant_types_supported"]) == {"client_credentials", JWT_BEARER}
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert {"records:read", "records:write", "team:manage", "requests:handle", "audit:read",
            "events:write"} <= set(metadata["scopes_supported"])
    keys = http.get(metadata["jwks_uri"].removeprefix(base)).json()["keys"]
    assert [key["kid"] for key in keys] == [runtime.tokens.ring.active().kid]
    assert all("d" not in key for key in keys)


def test_the_token_endpoint_counts_attempts_per_client_and_says_when_to_come_back(runtime, demo, partner, http):
    runtime.settings.token_rate_limit = "2/hour"
    for _ in range(2):
        assert http.post("/oauth/token", data={"grant_type": JWT_BEARER, "assertion": partner.assertion(
            demo.staff["client_manager"])}).status_code == 200
    response = http.post("/oauth/token", data={"grant_type": JWT_BEARER,
                                               "assertion": partner.assertion(demo.staff["client_manager"])})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert 0 < int(response.headers["retry-after"]) <= 3600
    event = last_event(runtime, action=AuditAction.TOKEN_GRANT)
    assert (event.outcome, event.reason, event.detail) == (Outcome.DENY, "rate_limited",
                                                           {"client_id": partner.client_id})
    # Another system is counted on its own.
    other = Partner(runtime, demo.parties["shelter"], name="Day care")
    assert http.post("/oauth/token", data={"grant_type": "client_credentials",
                                           **other.client_assertion()}).status_code == 200


def test_the_local_client_id_cannot_be_registered(runtime, demo):
    from gateway.errors import InvalidContent
    from gateway.tokens import LOCAL_CLIENT_ID

    with pytest.raises(InvalidContent):
        operations.register_partner(runtime, party=demo.parties["shelter"], name="x", client_id=LOCAL_CLIENT_ID)
    assert last_event(runtime, action=AuditAction.PARTNER_REGISTER).outcome == Outcome.DENY
