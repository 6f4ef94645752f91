"""Idempotency-Key: a retried POST is answered again, never done twice; misuse is refused on record."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from audit import AuditAction, Outcome
from gateway import idempotency
from gateway.idempotency import Answer, IdempotencyRecord, purge_expired
from gateway.main import create_app
from gateway.records.models import Entry
from gateway.routing import operations
from tests.conftest import HTTP_TIMEOUT
from tests.gateway.helpers import auth, events, partner_token, seed_idempotency_record, token

PROBLEM = "application/problem+json"
NOTE = {"kind": "note", "category": "ordinary", "content": {"text": "Viewed a room at the Kerkstraat."}}
OTHER_NOTE = {"kind": "note", "category": "ordinary", "content": {"text": "Signed the tenancy."}}


def url(demo, client=None) -> str:
    return f"/v1/clients/{client or demo.clients[0]}/entries"


def keyed(bearer, key, purpose="wellbeing") -> dict[str, str]:
    return {**auth(bearer, purpose), "Idempotency-Key": key}


def entry_count(runtime) -> int:
    with runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Entry))


def records(runtime) -> list[IdempotencyRecord]:
    with runtime.session() as session:
        return list(session.scalars(select(IdempotencyRecord)))


@pytest.fixture
def bearer(runtime, demo):
    return token(runtime, demo.staff["client_manager"])


# --- a retry is answered, not done ----------------------------------------------------------------------

def test_a_retried_post_gets_the_first_answer_and_changes_nothing_twice(runtime, demo, http, bearer):
    before = entry_count(runtime)
    first = http.post(url(demo), json=NOTE, headers=keyed(bearer, "retry-1"))
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = http.post(url(demo), json=NOTE, headers=keyed(bearer, "retry-1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert entry_count(runtime) == before + 1

    [write] = events(runtime, request_id=first.headers["x-request-id"])
    assert (write.action, write.outcome) == (AuditAction.RECORD_WRITE, Outcome.PERMIT)
    [replay] = events(runtime, request_id=again.headers["x-request-id"])
    assert (replay.action, replay.outcome, replay.reason) == (AuditAction.REQUEST_REPLAYED, Outcome.PERMIT,
                                                              "idempotent_replay")
    assert replay.detail == {"replay_of": first.headers["x-request-id"], "status": 201}
    assert (replay.actor_id, replay.purpose, replay.access_point) == (
        demo.staff["client_manager"], "wellbeing", "POST /v1/clients/{client_id}/entries")


def test_the_same_json_written_otherwise_is_the_same_request(runtime, demo, http, bearer):
    first = http.post(url(demo), json=NOTE, headers=keyed(bearer, "k"))
    reordered = '{"content": {"text": "Viewed a room at the Kerkstraat."},   "category": "ordinary", "kind": "note"}'
    again = http.post(url(demo), content=reordered,
                      headers={**keyed(bearer, "k"), "content-type": "application/json"})
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"


def test_a_post_without_a_key_is_done_each_time(runtime, demo, http, bearer):
    before = entry_count(runtime)
    ids = {http.post(url(demo), json=NOTE, headers=auth(bearer)).json()["id"] for _ in range(2)}
    assert len(ids) == 2 and entry_count(runtime) == before + 2
    assert records(runtime) == []


def test_a_key_is_the_callers_own(runtime, demo, http, bearer):
    """Scoped to the token's partner system and staff member: another's use of the same key is new."""
    first = http.post(url(demo), json=NOTE, headers=keyed(bearer, "shared"))
    other_system = partner_token(runtime, demo.staff["client_manager"], "other-system")
    other_staff = token(runtime, demo.staff["ggz_worker"])
    for other in (other_system, other_staff):
        response = http.post(url(demo), json=NOTE, headers=keyed(other, "shared"))
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
        assert response.json()["id"] != first.json()["id"]
    assert len(records(runtime)) == 3


# --- misuse ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change", ["body", "route", "purpose"])
def test_the_same_key_for_another_request_is_422(runtime, demo, http, bearer, change):
    first = http.post(url(demo), json=NOTE, headers=keyed(bearer, "once"))
    assert first.status_code == 201
    before = entry_count(runtime)
    if change == "body":
        response = http.post(url(demo), json=OTHER_NOTE, headers=keyed(bearer, "once"))
    elif change == "route":
        response = http.post(url(demo, uuid.uuid4()), json=NOTE, headers=keyed(bearer, "once"))
    else:
        response = http.post(url(demo), json=NOTE, headers=keyed(bearer, "once", purpose="housing"))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "tag:covenant-gateway,2026:problems/idempotency-key-reused"
    assert "Kerkstraat" not in response.text and "tenancy" not in response.text
    assert entry_count(runtime) == before
    [event] = events(runtime, request_id=response.headers["x-request-id"])
    assert (event.action, event.outcome, event.reason) == (AuditAction.REQUEST_REJECTED, Outcome.DENY,
                                                           "idempotency_key_reused")


NOT_ASCII = "é".encode("latin-1")  # a header's bytes beyond ASCII (obs-text)


@pytest.mark.parametrize("values", [["x" * 201], [NOT_ASCII], [""], ["tab\there"], ["a", "b"]])
def test_a_malformed_key_is_400_and_nothing_is_done(runtime, demo, http, bearer, values):
    before = entry_count(runtime)
    headers = httpx.Headers([*auth(bearer).items(), *(("Idempotency-Key", value) for value in values)])
    response = http.post(url(demo), json=NOTE, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "tag:covenant-gateway,2026:problems/idempotency-key-invalid"
    assert entry_count(runtime) == before
    [event] = events(runtime, request_id=response.headers["x-request-id"])
    assert (event.action, event.outcome, event.reason) == (AuditAction.REQUEST_REJECTED, Outcome.DENY,
                                                           "idempotency_key_invalid")


def test_a_key_of_200_printable_characters_is_taken(runtime, demo, http, bearer):
    key = ("!~ " * 67)[:199] + "z"  # inner spaces are printable; outer ones are not part of a header value
    assert http.post(url(demo), json=NOTE, headers=keyed(bearer, key)).status_code == 201
    assert http.post(url(demo), json=NOTE, headers=keyed(bearer, key)).headers["idempotent-replayed"] == "true"


def test_the_key_is_ignored_where_nothing_is_posted(runtime, demo, http, bearer):
    response = http.get(url(demo), headers=keyed(bearer, NOT_ASCII * 300))
    assert response.status_code == 200


def test_a_refused_request_leaves_its_key_free(runtime, demo, http, bearer):
    invalid = {"kind": "note", "category": "ordinary", "content": {"text": "x", "unknown_field": "y"}}
    refused = http.post(url(demo), json=invalid, headers=keyed(bearer, "fix-and-retry"))
    assert refused.status_code == 422
    assert records(runtime) == []
    fixed = http.post(url(demo), json=NOTE, headers=keyed(bearer, "fix-and-retry"))
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


# --- time -----------------------------------------------------------------------------------------------

def test_a_key_expires_after_24_hours_and_may_then_be_used_again(runtime, demo, http, clock):
    first = http.post(url(demo), json=NOTE, headers=keyed(token(runtime, demo.staff["client_manager"]), "daily"))
    clock.advance(dt.timedelta(hours=23, minutes=59))
    bearer = token(runtime, demo.staff["client_manager"])
    assert http.post(url(demo), json=NOTE, headers=keyed(bearer, "daily")).json() == first.json()
    clock.advance(dt.timedelta(minutes=1))
    bearer = token(runtime, demo.staff["client_manager"])
    later = http.post(url(demo), json=NOTE, headers=keyed(bearer, "daily"))
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    [record] = records(runtime)  # the expired record made way for the new one
    assert record.expires_at == clock() + dt.timedelta(hours=24)
    assert http.post(url(demo), json=NOTE, headers=keyed(bearer, "daily")).json() == later.json()


def test_expired_records_are_purged(runtime, demo, http, clock, bearer):
    http.post(url(demo), json=NOTE, headers=keyed(bearer, "old"))
    clock.advance(dt.timedelta(hours=12))
    http.post(url(demo), json=NOTE, headers=keyed(token(runtime, demo.staff["client_manager"]), "newer"))
    assert purge_expired(runtime, now=clock()) == 0
    clock.advance(dt.timedelta(hours=12))
    assert purge_expired(runtime, now=clock()) == 1
    assert len(records(runtime)) == 1


# --- at the same time -----------------------------------------------------------------------------------

def test_the_loser_of_two_concurrent_requests_does_nothing_and_gets_409(runtime, demo, http, bearer, monkeypatch):
    first = http.post(url(demo), json=NOTE, headers=keyed(bearer, "race"))
    before = entry_count(runtime)
    # The second request looked the key up before the first committed: it found nothing.
    monkeypatch.setattr(idempotency, "_stored", lambda *args: None)
    loser = http.post(url(demo), json=NOTE, headers=keyed(bearer, "race"))
    assert loser.status_code == 409
    assert loser.headers["content-type"] == PROBLEM
    assert loser.json()["type"] == "tag:covenant-gateway,2026:problems/idempotency-conflict"
    assert entry_count(runtime) == before  # its entry was rolled back with the key
    write, rejected = events(runtime, request_id=loser.headers["x-request-id"])
    assert (write.action, write.outcome, write.reason) == (AuditAction.RECORD_WRITE, Outcome.ERROR, "write_failed")
    assert (rejected.action, rejected.outcome, rejected.reason) == (AuditAction.REQUEST_REJECTED, Outcome.DENY,
                                                                    "idempotency_conflict")
    monkeypatch.undo()
    retry = http.post(url(demo), json=NOTE, headers=keyed(bearer, "race"))
    assert (retry.status_code, retry.json(), retry.headers["idempotent-replayed"]) == (201, first.json(), "true")


def test_concurrent_duplicates_apply_once(runtime, demo, server, bearer):
    before = entry_count(runtime)
    barrier = threading.Barrier(6)
    answers = []

    def post():
        with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT) as client:
            barrier.wait(timeout=60)
            answers.append(client.post(url(demo), json=NOTE, headers=keyed(bearer, "burst")))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 6
    assert entry_count(runtime) == before + 1
    created = {answer.json()["id"] for answer in answers if answer.status_code == 201}
    assert len(created) == 1
    assert {answer.status_code for answer in answers} <= {201, 409}


# --- at rest --------------------------------------------------------------------------------------------

def test_the_record_holds_neither_the_key_nor_the_answer_in_the_clear(runtime, demo, http, bearer):
    key = f"partner-ref-{uuid.uuid4()}"
    created = http.post(url(demo), json=NOTE, headers=keyed(bearer, key))
    [record] = records(runtime)
    stored = " ".join(str(value) for value in (record.key_digest, record.fingerprint, record.request_id))
    assert key not in stored and created.json()["id"] not in stored
    assert created.json()["id"].encode() not in record.response and b"location" not in record.response.lower()
    assert (record.status_code, record.request_id) == (201, created.headers["x-request-id"])


# --- every POST of the API ------------------------------------------------------------------------------

def _path_value(param) -> str:
    annotation = getattr(param.field_info, "annotation", None)
    if annotation is int:
        return "1"
    return str(uuid.uuid4())  # ids are UUIDs; a string parameter takes one too


def _v1_posts(runtime):
    app = create_app(runtime)
    found = []
    for operation in operations(app):
        if operation.method == "POST" and operation.path.startswith("/v1/"):
            path = operation.path
            for param in operation.dependant.path_params:
                path = path.replace("{" + param.name + "}", _path_value(param))
            found.append((operation.path, path))
    return found


def test_every_v1_post_honours_the_idempotency_key(runtime, demo, http, bearer):
    """Every POST route under /v1, whoever added it: a stored answer is replayed without running the
    route, the same key with another body is refused, and a malformed key is refused."""
    posts = _v1_posts(runtime)
    assert ("/v1/clients/{client_id}/entries", "POST") in {(template, "POST") for template, _ in posts}
    answer = Answer(status_code=201, headers={"content-type": "application/json", "location": "/v1/seeded"},
                    body=b'{"id":"seeded"}')
    for n, (template, path) in enumerate(posts):
        key = f"route-{n}"
        seed_idempotency_record(runtime, staff_id=demo.staff["client_manager"], key=key, path=path, body=b"{}",
                                answer=answer)
        replayed = http.post(path, content=b"{}", headers={**keyed(bearer, key), "content-type": "application/json"})
        assert (replayed.status_code, replayed.content) == (201, b'{"id":"seeded"}'), template
        assert (replayed.headers["location"], replayed.headers["idempotent-replayed"]) == ("/v1/seeded", "true"), template
        assert events(runtime, request_id=replayed.headers["x-request-id"])[0].action == AuditAction.REQUEST_REPLAYED
        reused = http.post(path, json={"other": True}, headers=keyed(bearer, key))
        assert (reused.status_code, reused.json()["type"].rsplit("/", 1)[1]) == (422, "idempotency-key-reused"), template
        malformed = http.post(path, json={}, headers=keyed(bearer, NOT_ASCII))
        assert (malformed.status_code, malformed.json()["type"].rsplit("/", 1)[1]) == (
            400, "idempotency-key-invalid"), template


def test_every_v1_post_documents_the_idempotency_key(http):
    document = http.get("/openapi.json").json()
    posts = [(path, op) for path, ops in document["paths"].items() if path.startswith("/v1/")
             for method, op in ops.items() if method == "post"]
    assert posts
    for path, op in posts:
        [parameter] = [p for p in op["parameters"] if p["name"] == "Idempotency-Key"]
        assert (parameter["in"], parameter["required"], parameter["schema"]["maxLength"]) == ("header", False, 200)
        assert {"409", "422", "429"} <= set(op["responses"]), path
    gets = [op for path, ops in document["paths"].items() for method, op in ops.items() if method == "get"]
    assert not any(p["name"] == "Idempotency-Key" for op in gets for p in op.get("parameters", []))
