"""The records API over HTTP on loopback: the auth matrix, the covenant's rules, and the trail."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from audit import AuditAction, Outcome
from gateway.clients.models import Client, ClientStatus
from tests.gateway.helpers import auth, end_link, events, last_event, link, register_client, token

PROBLEM = "application/problem+json"
NOTE = {"kind": "note", "category": "ordinary", "content": {"text": "Viewed a room at the Kerkstraat."}}


@pytest.fixture
def cast(demo):
    return demo


@pytest.fixture
def client_id(cast):
    return cast.clients[0]


def entries_url(client_id, entry_id=None):
    return f"/v1/clients/{client_id}/entries" + (f"/{entry_id}" if entry_id else "")


# --- authentication (401) ------------------------------------------------------------------------

def test_without_a_token_the_answer_is_401_and_the_attempt_is_recorded(runtime, http, client_id):
    response = http.get(entries_url(client_id), headers={"X-Purpose": "wellbeing"})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["type"] == "tag:covenant-gateway,2026:problems/unauthenticated"
    event = last_event(runtime, action=AuditAction.AUTH_REJECTED)
    assert (event.outcome, event.reason, event.access_point) == (
        Outcome.DENY, "token_missing", "GET /v1/clients/{client_id}/entries")
    assert event.request_id == response.headers["x-request-id"]


def _foreign_token(runtime, cast, kid="foreign", **overrides):
    key = ECKey.generate_key("P-256", private=True, parameters={"kid": kid})
    now = int(runtime.clock().timestamp())
    claims = {"iss": runtime.settings.issuer, "aud": runtime.settings.audience, "sub": cast.staff["client_manager"],
              "client_id": "x", "scope": "records:read", "iat": now, "nbf": now, "exp": now + 600, "jti": "j"}
    claims.update(overrides)
    return jwt.encode({"alg": "ES256", "kid": kid, "typ": "at+jwt"}, claims, key)


@pytest.mark.parametrize("case,reason", [
    ("garbage", "token_malformed"),
    ("foreign_key", "token_key_unknown"),
    ("foreign_key_our_kid", "token_signature_invalid"),
    ("hs256_with_public_key", "token_signature_invalid"),
    ("unknown_staff", "token_subject_unknown"),
    ("expired", "token_expired"),
    ("not_yet_valid", "token_not_yet_valid"),
    ("wrong_audience", "token_audience_invalid"),
    ("wrong_issuer", "token_issuer_invalid"),
])
def test_tokens_the_gateway_did_not_issue_or_that_lapsed_are_refused(runtime, http, cast, client_id, clock,
                                                                     case, reason):
    good = token(runtime, cast.staff["client_manager"], ttl=600)
    if case == "garbage":
        bearer = "not.a.jwt"
    elif case == "foreign_key":
        bearer = _foreign_token(runtime, cast)
    elif case == "foreign_key_our_kid":
        bearer = _foreign_token(runtime, cast, kid=runtime.tokens.ring.active().kid)
    elif case == "hs256_with_public_key":
        # The classic confusion: sign HS256 with the gateway's public key as the secret.
        public = runtime.tokens.ring.active().key.as_dict(private=False)
        secret = OctKey.import_key(str(public).encode())
        now = int(clock().timestamp())
        bearer = jwt.encode({"alg": "HS256", "typ": "at+jwt", "kid": runtime.tokens.ring.active().kid},
                            {"iss": runtime.settings.issuer, "aud": runtime.settings.audience,
                             "sub": cast.staff["client_manager"], "client_id": "x", "scope": "records:read",
                             "iat": now, "nbf": now, "exp": now + 60, "jti": "j"}, secret, algorithms=["HS256"])
    elif case == "unknown_staff":
        bearer = runtime.tokens.mint(subject=str(uuid.uuid4()), scopes=frozenset({"records:read"}), client_id="x", party="any",
                                     now=clock(), ttl_seconds=600)
    elif case == "expired":
        bearer = good
        clock.advance(dt.timedelta(seconds=600))
    elif case == "not_yet_valid":
        bearer = good
        clock.advance(dt.timedelta(seconds=-60))
    else:
        from gateway.tokens import TokenService
        other = TokenService(runtime.tokens.ring,
                             issuer="urn:elsewhere" if case == "wrong_issuer" else runtime.settings.issuer,
                             audience="elsewhere" if case == "wrong_audience" else runtime.settings.audience)
        bearer = other.mint(subject=cast.staff["client_manager"], scopes=frozenset({"records:read"}),
                            client_id="x", now=clock(), ttl_seconds=600)
    response = http.get(entries_url(client_id), headers=auth(bearer))
    assert response.status_code == 401, response.text
    assert last_event(runtime, action=AuditAction.AUTH_REJECTED).reason == reason


def test_a_verified_token_stops_working_the_moment_it_expires(runtime, http, cast, client_id, clock):
    bearer = token(runtime, cast.staff["client_manager"], ttl=600)
    assert http.get(entries_url(client_id), headers=auth(bearer)).status_code == 200  # now cached
    clock.advance(dt.timedelta(seconds=599, microseconds=999_999))
    assert http.get(entries_url(client_id), headers=auth(bearer)).status_code == 200
    clock.advance(dt.timedelta(microseconds=1))
    assert http.get(entries_url(client_id), headers=auth(bearer)).status_code == 401


# --- purpose (400) and scope (403) -------------------------------------------------------------------

@pytest.mark.parametrize("purpose,reason", [(None, "purpose_missing"), ("curiosity", "purpose_unknown")])
def test_a_missing_or_unknown_purpose_is_400(runtime, http, cast, client_id, purpose, reason):
    response = http.get(entries_url(client_id), headers=auth(token(runtime, cast.staff["client_manager"]), purpose))
    assert response.status_code == 400
    assert response.json()["type"].endswith("/purpose-invalid")
    event = last_event(runtime, action=AuditAction.REQUEST_REJECTED)
    assert (event.reason, event.actor_id) == (reason, cast.staff["client_manager"])
    assert "curiosity" not in str(event.detail)


def test_a_purpose_that_does_not_cover_the_action_is_refused(runtime, http, cast, client_id):
    response = http.get(entries_url(client_id), headers=auth(token(runtime, cast.staff["client_manager"]),
                                                              "statistics"))
    assert response.status_code == 403
    assert last_event(runtime, action=AuditAction.RECORD_LIST).reason == "purpose_not_for_action"


def test_a_token_without_the_scope_is_refused(runtime, http, cast, client_id):
    bearer = token(runtime, cast.staff["client_manager"], scopes={"records:write"})
    response = http.get(entries_url(client_id), headers=auth(bearer))
    assert response.status_code == 403
    assert response.json()["reason"] == "scope_missing"
    write = http.post(entries_url(client_id), json=NOTE,
                      headers=auth(token(runtime, cast.staff["client_manager"], scopes={"records:read"})))
    assert write.status_code == 403
    assert last_event(runtime, action=AuditAction.RECORD_WRITE).reason == "scope_missing"


# --- the linked client manager ---------------------------------------------------------------------

def test_the_linked_client_manager_writes_and_reads_the_file(runtime, http, cast, client_id):
    bearer = token(runtime, cast.staff["client_manager"])
    created = http.post(entries_url(client_id), json={**NOTE, "source_reference": "HAVEN-2026-0042"},
                        headers=auth(bearer, "housing"))
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    assert created.headers["location"] == entries_url(client_id, entry_id)

    read = http.get(entries_url(client_id, entry_id), headers=auth(bearer, "housing"))
    assert read.status_code == 200
    body = read.json()
    assert body["content"] == NOTE["content"]
    assert (body["kind"], body["category"], body["source_party"], body["source_reference"], body["purpose"]) == (
        "note", "ordinary", cast.parties["shelter"], "HAVEN-2026-0042", "housing")
    assert read.headers["cache-control"] == "no-store"

    listed = http.get(entries_url(client_id), headers=auth(bearer, "housing")).json()
    assert entry_id in [item["id"] for item in listed]
    assert {item["category"] for item in listed} == {"ordinary", "special"}

    write_event = last_event(runtime, action=AuditAction.RECORD_WRITE, object_id=entry_id)
    read_event = last_event(runtime, action=AuditAction.RECORD_READ, object_id=entry_id)
    for event in (write_event, read_event):
        assert event.outcome == Outcome.PERMIT
        assert event.authority.startswith("care_link:")
        assert event.actor_party == cast.parties["shelter"]
        assert event.purpose == "housing"
        assert event.categories == "ordinary"
        assert event.client_pseudonym.startswith("CL-")
        assert event.source_system == "gateway-cli"
        assert event.covenant_version == "demo-region@1"


def test_the_ggz_worker_reads_special_data_of_a_linked_client(runtime, http, cast, client_id):
    listed = http.get(entries_url(client_id), headers=auth(token(runtime, cast.staff["ggz_worker"]))).json()
    assert {item["category"] for item in listed} == {"ordinary", "special"}
    assert last_event(runtime, action=AuditAction.RECORD_LIST).categories == "ordinary,special"


def test_pages_follow_the_link_header(runtime, http, cast, client_id):
    bearer = token(runtime, cast.staff["client_manager"])
    first = http.get(entries_url(client_id), params={"limit": 3}, headers=auth(bearer))
    assert len(first.json()) == 3
    next_url = first.headers["link"].split(";")[0].strip("<>")
    second = http.get(next_url, headers=auth(bearer))
    assert len(second.json()) == 1 and "link" not in second.headers
    ids = [item["id"] for item in first.json() + second.json()]
    assert len(set(ids)) == 4
    assert http.get(entries_url(client_id), params={"cursor": "bm9wZQ"}, headers=auth(bearer)).status_code == 400


# --- refusals ------------------------------------------------------------------------------------------

def test_the_unlinked_police_officer_learns_nothing_not_even_whether_the_client_exists(runtime, http, cast,
                                                                                       client_id):
    bearer = token(runtime, cast.staff["police_officer"])
    some_entry = events(runtime, action=AuditAction.RECORD_WRITE)[0].object_id
    unknown_client = str(uuid.uuid4())
    answers = {
        "list": http.get(entries_url(client_id), headers=auth(bearer, "nuisance_reduction")),
        "read": http.get(entries_url(client_id, some_entry), headers=auth(bearer, "nuisance_reduction")),
        "write": http.post(entries_url(client_id), json=NOTE, headers=auth(bearer, "nuisance_reduction")),
        "unknown client": http.get(entries_url(unknown_client), headers=auth(bearer, "nuisance_reduction")),
        "unknown entry": http.get(entries_url(client_id, uuid.uuid4()), headers=auth(bearer, "nuisance_reduction")),
    }
    for name, response in answers.items():
        assert response.status_code == 403, name
        body = response.json()
        assert body["reason"] == "not_linked", name
        assert {k: v for k, v in body.items() if k != "instance"} == {
            k: v for k, v in answers["list"].json().items() if k != "instance"}, name
    denied = events(runtime, actor_id=cast.staff["police_officer"])
    assert [e.outcome for e in denied] == [Outcome.DENY] * 5
    assert [e.reason for e in denied] == ["not_linked"] * 3 + ["client_unknown", "not_linked"]


def test_only_the_field_director_hears_that_a_client_does_not_exist(runtime, http, cast, client_id):
    director = token(runtime, cast.staff["field_director"])
    assert http.get(entries_url(uuid.uuid4()), headers=auth(director)).status_code == 404
    refused = http.get(entries_url(client_id), headers=auth(director))
    assert refused.status_code == 403 and refused.json()["reason"] == "not_linked"


def test_a_linked_officer_is_refused_an_entry_of_a_category_their_party_may_not_read(runtime, http, cast,
                                                                                    client_id):
    # The police may read ordinary and criminal data, not special (health) data (art. 8.1b).
    link(runtime, cast, "police_officer")
    bearer = token(runtime, cast.staff["police_officer"])
    listed = http.get(entries_url(client_id), headers=auth(bearer, "nuisance_reduction")).json()
    assert {item["category"] for item in listed} == {"ordinary"}
    special = last_event(runtime, action=AuditAction.RECORD_WRITE, categories="special").object_id
    refused = http.get(entries_url(client_id, special), headers=auth(bearer, "nuisance_reduction"))
    assert refused.status_code == 403 and refused.json()["reason"] == "category_not_permitted"
    event = last_event(runtime, action=AuditAction.RECORD_READ, object_id=special)
    assert (event.outcome, event.reason, event.categories) == (Outcome.DENY, "category_not_permitted", "special")


def test_criminal_data_stays_with_the_criminal_justice_parties(runtime, http, cast, client_id):
    link(runtime, cast, "police_officer")
    police = token(runtime, cast.staff["police_officer"])
    criminal = {"kind": "note", "category": "criminal", "content": {"text": "Area ban in the station area."}}
    created = http.post(entries_url(client_id), json=criminal, headers=auth(police, "nuisance_reduction"))
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    assert http.get(entries_url(client_id, entry_id), headers=auth(police, "nuisance_reduction")).status_code == 200
    for member in ("client_manager", "ggz_worker"):
        bearer = token(runtime, cast.staff[member])
        assert entry_id not in [item["id"] for item in http.get(entries_url(client_id), headers=auth(bearer)).json()]
        refused = http.get(entries_url(client_id, entry_id), headers=auth(bearer))
        assert refused.status_code == 403, member
        written = http.post(entries_url(client_id), json=criminal, headers=auth(bearer))
        assert written.status_code == 403, member


def test_an_ended_link_refuses_at_that_very_moment(runtime, http, cast, client_id, clock):
    link_id = link(runtime, cast, "police_officer")
    bearer = token(runtime, cast.staff["police_officer"])
    assert http.get(entries_url(client_id), headers=auth(bearer, "nuisance_reduction")).status_code == 200
    clock.advance(dt.timedelta(minutes=5))
    end_link(runtime, cast, link_id)  # ends now, at the clock's moment
    refused = http.get(entries_url(client_id), headers=auth(bearer, "nuisance_reduction"))
    assert refused.status_code == 403
    assert last_event(runtime, action=AuditAction.RECORD_LIST).reason == "link_ended"


def test_a_link_expires_at_its_until(runtime, http, cast, client_id, clock):
    until = clock() + dt.timedelta(days=14)
    link(runtime, cast, "police_officer", until=until)
    clock.set(until - dt.timedelta(microseconds=1))
    bearer = token(runtime, cast.staff["police_officer"])
    assert http.get(entries_url(client_id), headers=auth(bearer, "nuisance_reduction")).status_code == 200
    clock.set(until)
    assert http.get(entries_url(client_id), headers=auth(bearer, "nuisance_reduction")).status_code == 403
    assert last_event(runtime, action=AuditAction.RECORD_LIST).reason == "link_ended"


def test_processing_stops_after_a_justified_objection(runtime, http, cast, client_id):
    with runtime.writer_engine.begin() as conn:
        conn.execute(Client.__table__.update().where(Client.id == uuid.UUID(client_id))
                     .values(status=ClientStatus.PROCESSING_STOPPED))
    response = http.get(entries_url(client_id), headers=auth(token(runtime, cast.staff["client_manager"])))
    assert response.status_code == 403 and response.json()["reason"] == "processing_stopped"
    police = http.get(entries_url(client_id), headers=auth(token(runtime, cast.staff["police_officer"])))
    assert police.json()["reason"] == "not_linked"  # nobody unlinked learns of the objection


def test_an_entry_of_another_client_is_not_found_through_this_client(runtime, http, cast, client_id):
    other = register_client(runtime, cast.staff["client_manager"])
    bearer = token(runtime, cast.staff["client_manager"])
    created = http.post(entries_url(other), json=NOTE, headers=auth(bearer)).json()["id"]
    assert http.get(entries_url(client_id, created), headers=auth(bearer)).status_code == 404
    assert http.get(entries_url(client_id, uuid.uuid4()), headers=auth(bearer)).status_code == 404
    assert last_event(runtime, action=AuditAction.RECORD_READ).reason == "entry_unknown"


# --- bad input (4xx, nothing changes, no value echoed) -----------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"kind": "diary", "category": "ordinary", "content": {"text": "SECRET-VALUE"}}, "kind"),
    ({"kind": "note", "category": "gossip", "content": {"text": "SECRET-VALUE"}}, "category"),
    ({"kind": "note", "category": "ordinary", "content": {"text": "x", "bsn": "SECRET-VALUE"}}, "content.bsn"),
    ({"kind": "intake", "category": "ordinary", "content": {"domain": "SECRET-VALUE", "text": "x"}}, "content.domain"),
    ({"kind": "contact", "category": "ordinary", "content": {"contact_on": "2099-01-01", "channel": "phone"}},
     "content.contact_on"),
    ({"kind": "note", "category": "ordinary", "content": {"text": "x"}, "confidentiality_ground": "SECRET-VALUE"},
     "confidentiality_ground"),
])
def test_content_outside_the_data_set_is_422_naming_the_field_not_the_value(runtime, http, cast, client_id,
                                                                            body, field):
    before = len(events(runtime, action=AuditAction.RECORD_WRITE, outcome=Outcome.PERMIT))
    response = http.post(entries_url(client_id), json=body, headers=auth(token(runtime, cast.staff["client_manager"])))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in response.json()["errors"]]
    assert "SECRET-VALUE" not in response.text
    assert last_event(runtime, action=AuditAction.RECORD_WRITE).reason == "content_invalid"
    assert len(events(runtime, action=AuditAction.RECORD_WRITE, outcome=Outcome.PERMIT)) == before


@pytest.mark.parametrize("request_kwargs,identified", [
    ({"json": {**NOTE, "surprise": "SECRET-VALUE"}}, True),
    ({"json": {"kind": "note", "category": "ordinary", "content": "SECRET-VALUE"}}, True),
    # A body that is not JSON at all is refused before authentication, so the event names no actor.
    ({"content": b"SECRET-VALUE", "headers": {"content-type": "application/json"}}, False),
])
def test_malformed_requests_are_422_and_recorded(runtime, http, cast, client_id, request_kwargs, identified):
    request_kwargs = dict(request_kwargs)  # the parameters are shared by both engines' runs
    headers = {**auth(token(runtime, cast.staff["client_manager"])), **request_kwargs.pop("headers", {})}
    response = http.post(entries_url(client_id), headers=headers, **request_kwargs)
    assert response.status_code == 422
    assert "SECRET-VALUE" not in response.text
    event = last_event(runtime, action=AuditAction.REQUEST_REJECTED)
    assert (event.reason, event.actor_id) == ("request_invalid",
                                              cast.staff["client_manager"] if identified else None)
    assert event.request_id == response.headers["x-request-id"]


def test_a_malformed_client_id_is_422_without_echo(runtime, http, cast):
    response = http.get("/v1/clients/123456782/entries", headers=auth(token(runtime, cast.staff["client_manager"])))
    assert response.status_code == 422
    assert "123456782" not in response.text


def test_health_and_unknown_routes(http):
    assert http.get("/healthz").json()["status"] == "ok"
    missing = http.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_a_contact_date_is_a_date_where_the_covenant_is(runtime, http, cast, client_id, clock):
    # 00:30 in Amsterdam is still yesterday in UTC: today's contact is not "in the future".
    clock.set(dt.datetime(2026, 11, 24, 0, 30, tzinfo=ZoneInfo("Europe/Amsterdam")))
    bearer = token(runtime, cast.staff["client_manager"])
    contact = {"kind": "contact", "category": "ordinary", "content": {"contact_on": "2026-11-24", "channel": "phone"}}
    assert http.post(entries_url(client_id), json=contact, headers=auth(bearer)).status_code == 201
    with runtime.session() as session:
        last_contact = session.get(Client, uuid.UUID(client_id)).last_contact_at
    assert last_contact == dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC)  # midnight in Amsterdam
    tomorrow = {**contact, "content": {"contact_on": "2026-11-25", "channel": "phone"}}
    assert http.post(entries_url(client_id), json=tomorrow, headers=auth(bearer)).status_code == 422


def test_a_forged_cursor_is_400(runtime, http, cast, client_id):
    import base64
    bearer = token(runtime, cast.staff["client_manager"])
    naive = base64.urlsafe_b64encode(f"2026-11-23T09:00:00|{uuid.uuid4()}".encode()).decode()
    response = http.get(entries_url(client_id), params={"cursor": naive}, headers=auth(bearer))
    assert response.status_code == 400


def test_an_unexpected_failure_is_a_problem_with_the_usual_headers(runtime, http, cast, client_id, monkeypatch):
    # A fault injected below the service (the vault's cache lookup raising) stands for a bug.
    def broken(*args, **kwargs):
        raise RuntimeError("SECRET-DETAIL")
    monkeypatch.setattr(runtime.vault, "decrypt", broken)
    response = http.get(entries_url(client_id), headers=auth(token(runtime, cast.staff["client_manager"])))
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["instance"] == f"urn:uuid:{response.headers['x-request-id']}"
    assert "SECRET-DETAIL" not in response.text
    event = last_event(runtime, action=AuditAction.RECORD_LIST)
    assert (event.outcome, event.reason) == (Outcome.ERROR, "internal_error")


def test_method_not_allowed_is_a_problem(http, client_id):
    response = http.delete(entries_url(client_id))
    assert response.status_code == 405 and response.headers["content-type"] == PROBLEM
