"""Clients' rights requests over HTTP on loopback (art. 11-14): each kind through every path, deadlines
and lateness with the controlled clock, the effects (processing stopped, corrections carried out and
the old content destroyed, notifications), the access copy, and refusals."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

import pytest
from sqlalchemy import select

from audit import AuditAction, Outcome
from gateway.clients.models import Client
from gateway.records.models import Entry
from gateway.rights.models import RightsRequest
from gateway.rights.terms import decision_due, execution_due
from gateway.vault import ClientKey, VaultError
from tests.gateway.helpers import auth, events, last_event, token

STATEMENT = "The intake says I refused help in October; I did not, I was in hospital."
GROUNDS = "I do not want the police-adjacent partners to hold my file any longer."
REASONS = "Checked with the night shelter's log: the client is right."


@pytest.fixture
def client_id(demo):
    return demo.clients[0]


def manager(runtime, demo, purpose="subject_rights"):
    return auth(token(runtime, demo.staff["client_manager"]), purpose)


def ggz(runtime, demo, purpose="wellbeing"):
    return auth(token(runtime, demo.staff["ggz_worker"]), purpose)


def requests_url(client_id, request_id=None, step=None):
    url = f"/v1/clients/{client_id}/requests"
    if request_id:
        url += f"/{request_id}"
    if step:
        url += f"/{step}"
    return url


def entries(http, runtime, demo, client_id, who="client_manager", purpose="housing"):
    response = http.get(f"/v1/clients/{client_id}/entries", headers=auth(token(runtime, demo.staff[who]), purpose))
    assert response.status_code == 200, response.text
    return response.json()


def entry_of_kind(http, runtime, demo, client_id, kind="intake"):
    return next(entry for entry in entries(http, runtime, demo, client_id) if entry["kind"] == kind)


def record(http, runtime, demo, client_id, body, status=201) -> dict:
    response = http.post(requests_url(client_id), json=body, headers=manager(runtime, demo))
    assert response.status_code == status, response.text
    return response.json()


def step(http, runtime, demo, client_id, request_id, name, body=None, status=200) -> dict:
    response = http.post(requests_url(client_id, request_id, name), json=body, headers=manager(runtime, demo))
    assert response.status_code == status, response.text
    return response.json()


def correction(http, runtime, demo, client_id, entry_id, what="improve") -> dict:
    return record(http, runtime, demo, client_id, {"kind": "correction", "entry_id": entry_id, "correction": what,
                                                   "statement": STATEMENT})


def write_note(http, runtime, demo, client_id, text: str) -> str:
    response = http.post(f"/v1/clients/{client_id}/entries", headers=manager(runtime, demo, "wellbeing"),
                         json={"kind": "note", "category": "ordinary", "content": {"text": text}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def stored(runtime, request_id) -> RightsRequest:
    with runtime.session() as session:
        return session.get(RightsRequest, uuid.UUID(request_id))


# --- recording and the contract ---------------------------------------------------------------------------

def test_recording_a_request_answers_201_with_its_received_date_and_decision_deadline(runtime, http, demo,
                                                                                        client_id, clock):
    created = record(http, runtime, demo, client_id, {"kind": "access"})
    today = clock().date()
    assert created["received_at"] == today.isoformat()
    assert created["decision_due"] == decision_due(runtime.covenant, "access", today).isoformat()
    assert (created["kind"], created["status"], created["late"], created["due_soon"]) == (
        "access", "received", False, False)
    event = last_event(runtime, action=AuditAction.REQUEST_OPEN)
    assert (event.outcome, event.object_id, event.actor_id, event.purpose) == (
        Outcome.PERMIT, created["id"], demo.staff["client_manager"], "subject_rights")
    assert event.detail == {"kind": "access", "received_on": created["received_at"],
                            "decision_due": created["decision_due"]}
    assert http.get(requests_url(client_id, created["id"]), headers=manager(runtime, demo)).json() == created
    assert [item["id"] for item in http.get(requests_url(client_id), headers=manager(runtime, demo)).json()] == [
        created["id"]]


def test_the_statement_and_grounds_are_encrypted_and_never_in_the_trail(runtime, http, demo, client_id):
    intake = entry_of_kind(http, runtime, demo, client_id)
    created = correction(http, runtime, demo, client_id, intake["id"])
    objection = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": GROUNDS})
    assert (created["statement"], objection["statement"]) == (STATEMENT, GROUNDS)
    assert STATEMENT.encode() not in stored(runtime, created["id"]).statement
    assert GROUNDS.encode() not in stored(runtime, objection["id"]).statement
    trail = str([(e.detail, e.reason, e.object_id) for e in events(runtime)])
    assert "hospital" not in trail and "police-adjacent" not in trail


def test_a_request_received_earlier_runs_from_that_day_across_a_month_end(runtime, http, demo, client_id, clock):
    clock.set(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    created = record(http, runtime, demo, client_id, {"kind": "correction", "received_at": "2026-11-27",
                                                      "entry_id": entry_of_kind(http, runtime, demo, client_id)["id"],
                                                      "correction": "improve", "statement": STATEMENT})
    assert created["received_at"] == "2026-11-27"
    assert created["decision_due"] == "2026-12-11" == decision_due(
        runtime.covenant, "correction", dt.date(2026, 11, 27)).isoformat()


def test_an_access_request_on_the_last_of_january_is_due_at_the_end_of_february(runtime, http, demo, client_id,
                                                                                   clock):
    clock.set(dt.datetime(2027, 1, 31, 10, 0, tzinfo=dt.UTC))
    created = record(http, runtime, demo, client_id, {"kind": "access"})
    # One calendar month: 28 February 2027 is a Sunday, so the Atw (adopted by the demo region) moves it on.
    assert created["decision_due"] == decision_due(runtime.covenant, "access", dt.date(2027, 1, 31)).isoformat()
    assert created["decision_due"] == "2027-03-01"


def test_received_at_is_the_day_in_the_covenants_time_zone(runtime, http, demo, client_id, clock):
    clock.set(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC))  # already 1 December in Amsterdam
    assert record(http, runtime, demo, client_id, {"kind": "access"})["received_at"] == "2026-12-01"


@pytest.mark.parametrize("body", [
    {"kind": "access", "received_at": "2026-11-24"},                       # in the future
    {"kind": "access", "received_at": "2026-11-01"},                       # before the client was registered
    {"kind": "access", "received_at": "yesterday"},
    {"kind": "complaint"},
    {"kind": "objection"},                                                  # no grounds
    {"kind": "objection", "grounds": ""},
    {"kind": "objection", "grounds": "x" * 2001},
    {"kind": "correction", "correction": "improve", "statement": STATEMENT},  # no entry
    {"kind": "correction", "entry_id": str(uuid.uuid4()), "correction": "improve", "statement": STATEMENT},
    {"kind": "correction", "entry_id": None, "correction": "rewrite", "statement": STATEMENT},
    {"kind": "access", "note": "extra field"},
])
def test_bad_input_is_422_and_records_nothing(runtime, http, demo, client_id, body):
    response = http.post(requests_url(client_id), json=body, headers=manager(runtime, demo))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert STATEMENT not in response.text
    with runtime.session() as session:
        assert session.scalars(select(RightsRequest)).all() == []
    assert [e.outcome for e in events(runtime, action=AuditAction.REQUEST_OPEN)] in ([], [Outcome.DENY])


# --- who may ---------------------------------------------------------------------------------------------

def test_only_the_clients_own_client_manager_handles_requests_and_every_refusal_is_recorded(runtime, http, demo,
                                                                                            client_id):
    body = {"kind": "access"}
    assert http.post(requests_url(client_id), json=body, headers={"X-Purpose": "subject_rights"}).status_code == 401
    refused = http.post(requests_url(client_id), json=body, headers=ggz(runtime, demo, "subject_rights"))
    assert refused.status_code == 403 and refused.json()["reason"] == "scope_missing"
    scoped = auth(token(runtime, demo.staff["ggz_worker"], scopes={"requests:handle"}), "subject_rights")
    refused = http.post(requests_url(client_id), json=body, headers=scoped)
    assert refused.status_code == 403 and refused.json()["reason"] == "role_not_for_purpose"
    director = http.post(requests_url(client_id), json=body,
                         headers=auth(token(runtime, demo.staff["field_director"], scopes={"requests:handle"}),
                                      "subject_rights"))
    assert director.status_code == 403 and director.json()["reason"] == "role_required"
    no_scope = auth(token(runtime, demo.staff["client_manager"], scopes={"records:read"}), "subject_rights")
    assert http.post(requests_url(client_id), json=body, headers=no_scope).json()["reason"] == "scope_missing"
    wrong_purpose = http.post(requests_url(client_id), json=body, headers=manager(runtime, demo, "housing"))
    assert wrong_purpose.status_code == 403 and wrong_purpose.json()["reason"] == "purpose_not_for_action"
    unknown = http.post(requests_url(uuid.uuid4()), json=body, headers=manager(runtime, demo))
    assert unknown.status_code == 403 and unknown.json()["reason"] == "not_linked"
    denied = [e for e in events(runtime, action=AuditAction.REQUEST_OPEN)]
    assert [e.outcome for e in denied] == [Outcome.DENY] * 6
    with runtime.session() as session:
        assert session.scalars(select(RightsRequest)).all() == []

    created = record(http, runtime, demo, client_id, body)
    assert http.get(requests_url(client_id, uuid.uuid4()), headers=manager(runtime, demo)).status_code == 404
    other = http.get(requests_url(client_id, created["id"]), headers=ggz(runtime, demo, "subject_rights"))
    assert other.status_code == 403
    assert last_event(runtime, action=AuditAction.REQUEST_READ).outcome == Outcome.DENY


# --- the state machine ------------------------------------------------------------------------------------

STEPS = {
    "review": None,
    "decision": {"outcome": "refused", "reasons": REASONS},
    "carry-out": None,
    "close": None,
    "withdraw": None,
}


def _to_state(http, runtime, demo, client_id, state: str) -> dict:
    """A correction request brought to ``state`` (carried_out: granted, shielded)."""
    entry_id = entry_of_kind(http, runtime, demo, client_id)["id"]
    created = correction(http, runtime, demo, client_id, entry_id, "shield")
    rid = created["id"]
    path = {"received": [], "in_review": ["review"], "decided": ["review", "decision"],
            "carried_out": ["review", "decision", "carry-out"], "closed": ["review", "decision", "carry-out", "close"],
            "withdrawn": ["withdraw"]}[state]
    for name in path:
        body = {"outcome": "granted", "reasons": REASONS} if name == "decision" else None
        created = step(http, runtime, demo, client_id, rid, name, body)
    assert created["status"] == state
    return created


LEGAL = {
    "received": {"review", "withdraw"},
    "in_review": {"decision", "withdraw"},
    "decided": {"carry-out", "withdraw"},  # granted, not yet carried out: not closed
    "carried_out": {"close"},
    "closed": set(),
    "withdrawn": set(),
}


@pytest.mark.parametrize("state", list(LEGAL))
def test_every_illegal_step_is_409_and_changes_nothing(runtime, http, demo, client_id, state, engine_name):
    request = _to_state(http, runtime, demo, client_id, state)
    before = stored(runtime, request["id"])
    for name in sorted(set(STEPS) - LEGAL[state]):
        body = STEPS[name] if name != "decision" else {"outcome": "granted", "reasons": REASONS}
        response = http.post(requests_url(client_id, request["id"], name), json=body, headers=manager(runtime, demo))
        assert response.status_code == 409, (state, name, response.text)
        problem = response.json()  # RFC 9457: "status" is the HTTP status; the request's own is beside it
        assert (problem["status"], problem["request_status"]) == (409, state)
        assert last_event(runtime, access_point=f"POST /v1/clients/{{client_id}}/requests/{{request_id}}/{name}"
                          ).outcome == Outcome.ERROR
        after = stored(runtime, request["id"])
        assert {c: getattr(after, c) for c in ("status", "outcome", "reasons", "decided_at", "closed_at")} == \
            {c: getattr(before, c) for c in ("status", "outcome", "reasons", "decided_at", "closed_at")}


def test_an_access_request_walks_to_its_copy_and_is_closed(runtime, http, demo, client_id, clock):
    created = record(http, runtime, demo, client_id, {"kind": "access"})
    rid = created["id"]
    assert http.get(requests_url(client_id, rid, "copy"), headers=manager(runtime, demo)).status_code == 409
    step(http, runtime, demo, client_id, rid, "review")
    # Granting access means the copy was produced.
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "granted", "reasons": "Your copy."}, status=409)
    copy = http.get(requests_url(client_id, rid, "copy"), headers=manager(runtime, demo))
    assert copy.status_code == 200, copy.text
    clock.advance(dt.timedelta(days=3))
    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "granted", "reasons": "Your copy."})
    assert (decided["status"], decided["outcome"], decided["late"], decided["execution_due"]) == (
        "decided", "granted", False, None)
    assert decided["copy_produced_at"] is not None and decided["reasons"] == "Your copy."
    step(http, runtime, demo, client_id, rid, "carry-out", status=409)
    closed = step(http, runtime, demo, client_id, rid, "close")
    assert closed["status"] == "closed"
    assert [e.action for e in events(runtime, object_id=rid) if e.outcome == Outcome.PERMIT] == [
        "request.open", "request.review", "client.export", "request.decide", "request.close"]


def test_a_refused_correction_is_decided_with_reasons_and_closed(runtime, http, demo, client_id):
    intake = entry_of_kind(http, runtime, demo, client_id)
    rid = correction(http, runtime, demo, client_id, intake["id"])["id"]
    step(http, runtime, demo, client_id, rid, "review")
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "justified", "reasons": REASONS}, status=422)
    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "refused", "reasons": REASONS})
    assert (decided["outcome"], decided["reasons"], decided["carry_out"], decided["execution_due"]) == (
        "refused", REASONS, None, None)
    event = last_event(runtime, action=AuditAction.REQUEST_DECIDE, outcome=Outcome.PERMIT)
    assert event.detail["outcome"] == "refused" and event.detail["late"] is False
    assert REASONS not in str(event.detail)
    step(http, runtime, demo, client_id, rid, "carry-out", status=409)
    assert step(http, runtime, demo, client_id, rid, "close")["status"] == "closed"
    assert entry_of_kind(http, runtime, demo, client_id)["content"] == intake["content"]


@pytest.mark.parametrize("state", ["received", "in_review"])
def test_an_open_request_is_withdrawn(runtime, http, demo, client_id, state):
    request = _to_state(http, runtime, demo, client_id, state)
    withdrawn = step(http, runtime, demo, client_id, request["id"], "withdraw")
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_at"] is not None
    assert last_event(runtime, action=AuditAction.REQUEST_WITHDRAW).detail == {"from": state, "to": "withdrawn"}


def test_a_decision_after_its_deadline_is_marked_late_on_the_request_and_in_the_trail(runtime, http, demo,
                                                                                       client_id, clock):
    intake = entry_of_kind(http, runtime, demo, client_id)
    created = correction(http, runtime, demo, client_id, intake["id"], "improve")
    due = dt.date.fromisoformat(created["decision_due"])
    step(http, runtime, demo, client_id, created["id"], "review")
    # On the last day it is still in time, and due soon.
    clock.set(dt.datetime.combine(due, dt.time(10), dt.UTC))
    assert http.get(requests_url(client_id, created["id"]), headers=manager(runtime, demo)).json()["due_soon"]
    clock.advance(dt.timedelta(days=1))
    current = http.get(requests_url(client_id, created["id"]), headers=manager(runtime, demo)).json()
    assert (current["late"], current["due_soon"]) == (True, False)
    decided = step(http, runtime, demo, client_id, created["id"], "decision",
                   {"outcome": "granted", "reasons": REASONS})
    assert decided["late"] is True and decided["decided_on"] == (due + dt.timedelta(days=1)).isoformat()
    assert decided["execution_due"] == execution_due(runtime.covenant, due + dt.timedelta(days=1)).isoformat()
    assert stored(runtime, created["id"]).late is True
    event = last_event(runtime, action=AuditAction.REQUEST_DECIDE, outcome=Outcome.PERMIT)
    assert event.detail["late"] is True and event.detail["decision_due"] == due.isoformat()


def test_the_queue_shows_the_managers_open_requests_soonest_due_first(runtime, http, demo, client_id, clock):
    intake = entry_of_kind(http, runtime, demo, client_id)
    access = record(http, runtime, demo, client_id, {"kind": "access"})
    fix = correction(http, runtime, demo, client_id, intake["id"])
    objection = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": GROUNDS})
    done = record(http, runtime, demo, client_id, {"kind": "access"})
    step(http, runtime, demo, client_id, done["id"], "withdraw")
    queue = http.get("/v1/requests", headers=manager(runtime, demo))
    assert queue.status_code == 200, queue.text
    assert [item["id"] for item in queue.json()] == [fix["id"], objection["id"], access["id"]]
    assert all(not item["late"] and not item["due_soon"] for item in queue.json())
    assert queue.json()[0]["client_pseudonym"] and "statement" not in queue.json()[0]
    clock.set(dt.datetime.combine(dt.date.fromisoformat(fix["decision_due"]) - dt.timedelta(days=2), dt.time(9),
                                  dt.UTC))
    flags = {item["id"]: (item["due_soon"], item["late"]) for item in
             http.get("/v1/requests", headers=manager(runtime, demo)).json()}
    assert flags[fix["id"]] == (True, False) and flags[access["id"]] == (False, False)
    clock.set(dt.datetime.combine(dt.date.fromisoformat(objection["decision_due"]) + dt.timedelta(days=1),
                                  dt.time(9), dt.UTC))
    flags = {item["id"]: (item["due_soon"], item["late"]) for item in
             http.get("/v1/requests", headers=manager(runtime, demo)).json()}
    assert flags[fix["id"]] == (False, True) and flags[objection["id"]] == (False, True)
    event = last_event(runtime, action=AuditAction.REQUEST_LIST)
    assert (event.outcome, event.detail["returned"], event.detail["late"]) == (Outcome.PERMIT, 3, 2)
    assert http.get("/v1/requests", headers=ggz(runtime, demo, "subject_rights")).status_code == 403


# --- objection -------------------------------------------------------------------------------------------

def test_a_justified_objection_stops_processing_until_it_is_reversed(runtime, http, demo, client_id):
    created = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": GROUNDS})
    rid = created["id"]
    assert created["decision_due"] == decision_due(runtime.covenant, "objection",
                                                   dt.date.fromisoformat(created["received_at"])).isoformat()
    step(http, runtime, demo, client_id, rid, "review")
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "granted", "reasons": REASONS}, status=422)
    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "justified", "reasons": REASONS})
    assert decided["outcome"] == "justified"
    stopped = last_event(runtime, action=AuditAction.CLIENT_PROCESSING_STOPPED)
    assert (stopped.outcome, stopped.detail, stopped.authority) == (Outcome.PERMIT, {"request": rid},
                                                                    f"rights_request:{rid}")
    # Reads and writes of the file are refused, with the reason; the request and the team stay in reach.
    for who in ("ggz_worker", "client_manager"):
        refused = http.get(f"/v1/clients/{client_id}/entries", headers=auth(token(runtime, demo.staff[who]),
                                                                            "wellbeing"))
        assert refused.status_code == 403 and refused.json()["reason"] == "processing_stopped"
        assert "objection" in refused.json()["detail"]
    write = http.post(f"/v1/clients/{client_id}/entries", headers=ggz(runtime, demo),
                      json={"kind": "note", "category": "ordinary", "content": {"text": "Seen today."}})
    assert write.status_code == 403 and write.json()["reason"] == "processing_stopped"
    assert http.get(requests_url(client_id, rid), headers=manager(runtime, demo)).status_code == 200
    assert http.get(f"/v1/clients/{client_id}/team", headers=manager(runtime, demo, "case_management")
                    ).status_code == 200
    closed = step(http, runtime, demo, client_id, rid, "close")
    assert closed["status"] == "closed"
    with runtime.session() as session:
        assert session.get(Client, uuid.UUID(client_id)).status == "processing_stopped"

    step(http, runtime, demo, client_id, rid, "reversal", {"reasons": ""}, status=422)
    reversed_ = step(http, runtime, demo, client_id, rid, "reversal", {"reasons": "The court found otherwise."})
    assert reversed_["reversed_at"] is not None and reversed_["reversal_reasons"] == "The court found otherwise."
    assert last_event(runtime, action=AuditAction.CLIENT_PROCESSING_RESTARTED).detail == {"request": rid}
    assert last_event(runtime, action=AuditAction.REQUEST_REVERSE).outcome == Outcome.PERMIT
    assert http.get(f"/v1/clients/{client_id}/entries", headers=ggz(runtime, demo)).status_code == 200
    step(http, runtime, demo, client_id, rid, "reversal", {"reasons": "again"}, status=409)


def test_an_unjustified_objection_changes_nothing_and_cannot_be_reversed(runtime, http, demo, client_id):
    rid = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": GROUNDS})["id"]
    step(http, runtime, demo, client_id, rid, "review")
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "unjustified", "reasons": REASONS})
    assert http.get(f"/v1/clients/{client_id}/entries", headers=ggz(runtime, demo)).status_code == 200
    step(http, runtime, demo, client_id, rid, "reversal", {"reasons": "no"}, status=409)
    assert step(http, runtime, demo, client_id, rid, "close")["status"] == "closed"
    assert events(runtime, action=AuditAction.CLIENT_PROCESSING_STOPPED) == []


def test_withdrawing_a_justified_objection_restarts_processing(runtime, http, demo, client_id):
    rid = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": GROUNDS})["id"]
    step(http, runtime, demo, client_id, rid, "review")
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "justified", "reasons": REASONS})
    assert http.get(f"/v1/clients/{client_id}/entries", headers=ggz(runtime, demo)).status_code == 403
    step(http, runtime, demo, client_id, rid, "withdraw")
    assert http.get(f"/v1/clients/{client_id}/entries", headers=ggz(runtime, demo)).status_code == 200


# --- corrections carried out -----------------------------------------------------------------------------

def _granted(http, runtime, demo, client_id, entry_id, what, body=None) -> str:
    rid = correction(http, runtime, demo, client_id, entry_id, what)["id"]
    step(http, runtime, demo, client_id, rid, "review")
    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "granted", "reasons": REASONS})
    assert decided["carry_out"] == what
    assert decided["execution_due"] == execution_due(runtime.covenant,
                                                     dt.date.fromisoformat(decided["decided_on"])).isoformat()
    return rid


def _sqlite_files(runtime) -> bytes:
    """The data and key-store SQLite files and their WALs, after a checkpoint, as one byte string."""
    import sqlite3
    from pathlib import Path

    found = b""
    for url in (runtime.settings.data_url, runtime.settings.key_store_url):
        path = Path(url.removeprefix("sqlite:///"))
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        for name in (path, path.with_name(path.name + "-wal")):
            if name.exists():
                found += name.read_bytes()
    return found


def test_an_improved_entry_leaves_no_readable_trace_of_the_old_content(runtime, http, demo, client_id, clock,
                                                                        engine_name):
    marker = f"MARKER-{secrets.token_hex(8)}"
    entry_id = write_note(http, runtime, demo, client_id, f"Refused help on {marker}.")
    assert http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=ggz(runtime, demo)).status_code == 200
    with runtime.session() as session:
        old = session.get(Entry, uuid.UUID(entry_id))
        old_ciphertext, old_version = old.ciphertext, old.key_version
    with runtime.keystore_engine.connect() as conn:
        old_wrapped = conn.scalar(select(ClientKey.wrapped_key).where(
            ClientKey.client_id == uuid.UUID(client_id), ClientKey.version == old_version))

    rid = _granted(http, runtime, demo, client_id, entry_id, "improve")
    clock.advance(dt.timedelta(days=2))
    step(http, runtime, demo, client_id, rid, "carry-out", {"content": {"diagnosis": "x"}}, status=422)
    step(http, runtime, demo, client_id, rid, "carry-out", {}, status=422)
    assert stored(runtime, rid).status == "decided"
    done = step(http, runtime, demo, client_id, rid, "carry-out", {"content": {"text": "Was in hospital in October."}})
    assert (done["status"], done["late"]) == ("carried_out", False)

    # Every route shows the new content only.
    for who in ("client_manager", "ggz_worker"):
        read = http.get(f"/v1/clients/{client_id}/entries/{entry_id}",
                        headers=auth(token(runtime, demo.staff[who]), "wellbeing"))
        assert read.json()["content"] == {"text": "Was in hospital in October."}
        assert marker not in str(entries(http, runtime, demo, client_id, who, "wellbeing"))
    # The old key is gone, and with it the old ciphertext wherever it still lies.
    with runtime.keystore_engine.connect() as conn:
        versions = conn.scalars(select(ClientKey.version).where(ClientKey.client_id == uuid.UUID(client_id))).all()
    assert versions == [old_version + 1]
    runtime.vault.forget_cached()
    with pytest.raises(VaultError):
        runtime.vault.decrypt(uuid.UUID(client_id), old_version, b"", old_ciphertext)
    with runtime.session() as session:
        assert session.scalars(select(Entry).where(Entry.ciphertext == old_ciphertext)).all() == []
        rows = session.scalars(select(Entry).where(Entry.client_id == uuid.UUID(client_id))).all()
        assert {row.key_version for row in rows} == {old_version + 1}
    if engine_name == "sqlite":
        files = _sqlite_files(runtime)
        assert old_ciphertext not in files and old_wrapped not in files and marker.encode() not in files
    # Everything else sealed with the client's key still opens: the team's reasons, the request's.
    assert http.get(f"/v1/clients/{client_id}/team", headers=manager(runtime, demo, "case_management")
                    ).status_code == 200
    assert http.get(requests_url(client_id, rid), headers=manager(runtime, demo)).json()["statement"] == STATEMENT

    correct = last_event(runtime, action=AuditAction.RECORD_CORRECT)
    assert (correct.object_id, correct.detail) == (entry_id, {"request": rid, "correction": "improve"})
    renew = last_event(runtime, action=AuditAction.CLIENT_KEY_RENEW)
    assert renew.detail == {"key_version": old_version + 1, "request": rid}
    assert last_event(runtime, action=AuditAction.REQUEST_CARRY_OUT, outcome=Outcome.PERMIT).detail == {
        "from": "decided", "to": "carried_out", "correction": "improve", "late": False}
    assert marker not in str([e.detail for e in events(runtime)])
    assert step(http, runtime, demo, client_id, rid, "close")["status"] == "closed"


def test_a_completed_entry_keeps_its_content_and_gains_the_addition(runtime, http, demo, client_id):
    intake = entry_of_kind(http, runtime, demo, client_id)
    rid = _granted(http, runtime, demo, client_id, intake["id"], "complete")
    step(http, runtime, demo, client_id, rid, "carry-out", {"content": {"text": "Also: has a sister nearby."}})
    after = entry_of_kind(http, runtime, demo, client_id)
    assert after["content"]["text"] == intake["content"]["text"] + "\nAlso: has a sister nearby."
    assert after["content"]["domain"] == intake["content"]["domain"]


def test_a_deleted_entry_is_destroyed(runtime, http, demo, client_id, engine_name):
    marker = f"MARKER-{secrets.token_hex(8)}"
    entry_id = write_note(http, runtime, demo, client_id, marker)
    with runtime.session() as session:
        old_ciphertext = session.get(Entry, uuid.UUID(entry_id)).ciphertext
    rid = _granted(http, runtime, demo, client_id, entry_id, "delete")
    step(http, runtime, demo, client_id, rid, "carry-out", {"content": {"text": "x"}}, status=422)
    step(http, runtime, demo, client_id, rid, "carry-out")
    assert http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=manager(runtime, demo, "wellbeing")
                    ).status_code == 404
    assert entry_id not in {entry["id"] for entry in entries(http, runtime, demo, client_id)}
    assert last_event(runtime, action=AuditAction.RECORD_DELETE).object_id == entry_id
    if engine_name == "sqlite":
        assert old_ciphertext not in _sqlite_files(runtime)


def test_a_shielded_entry_is_hidden_from_all_but_the_client_manager(runtime, http, demo, client_id):
    entry_id = write_note(http, runtime, demo, client_id, "Was seen drunk at the station.")
    assert http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=ggz(runtime, demo)).status_code == 200
    rid = _granted(http, runtime, demo, client_id, entry_id, "shield")
    step(http, runtime, demo, client_id, rid, "carry-out")
    assert last_event(runtime, action=AuditAction.RECORD_SHIELD).object_id == entry_id
    hidden = http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=ggz(runtime, demo))
    assert hidden.status_code == 404
    assert last_event(runtime, action=AuditAction.RECORD_READ).reason == "entry_shielded"
    assert entry_id not in {entry["id"] for entry in entries(http, runtime, demo, client_id, "ggz_worker",
                                                             "wellbeing")}
    visible = http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=manager(runtime, demo, "wellbeing"))
    assert visible.status_code == 200 and visible.json()["content"] == {"text": "Was seen drunk at the station."}
    assert entry_id in {entry["id"] for entry in entries(http, runtime, demo, client_id)}
    # A shield changes no content: the client's key stays, and the GGZ, which read it, is told.
    assert events(runtime, action=AuditAction.CLIENT_KEY_RENEW) == []
    assert [n["party"] for n in http.get(requests_url(client_id, rid), headers=manager(runtime, demo)
                                         ).json()["notifications"]] == [demo.parties["mental_health"]]


def test_a_correction_carried_out_late_is_marked_late(runtime, http, demo, client_id, clock):
    intake = entry_of_kind(http, runtime, demo, client_id)
    rid = _granted(http, runtime, demo, client_id, intake["id"], "shield")
    due = stored(runtime, rid).execution_due
    clock.set(dt.datetime.combine(due + dt.timedelta(days=1), dt.time(9), dt.UTC))
    done = step(http, runtime, demo, client_id, rid, "carry-out")
    assert done["late"] is True
    assert last_event(runtime, action=AuditAction.REQUEST_CARRY_OUT, outcome=Outcome.PERMIT).detail["late"] is True


# --- notifications (GDPR art. 19) ------------------------------------------------------------------------

def test_the_parties_that_read_the_old_content_are_notified_until_they_acknowledge(runtime, http, demo, client_id):
    from tests.gateway.helpers import partner_token

    entry_id = write_note(http, runtime, demo, client_id, "Refused help in October.")
    assert http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=ggz(runtime, demo)).status_code == 200
    entries(http, runtime, demo, client_id)  # the shelter's client manager lists the file, this entry with it
    rid = _granted(http, runtime, demo, client_id, entry_id, "improve")
    done = step(http, runtime, demo, client_id, rid, "carry-out", {"content": {"text": "Was in hospital."}})
    parties = {notice["party"]: notice for notice in done["notifications"]}
    # The GGZ read it; the shelter listed it. The police never saw it.
    assert set(parties) == {demo.parties["mental_health"], demo.parties["shelter"]}
    assert all(notice["acknowledged_at"] is None for notice in parties.values())
    assert done["notifications"] == http.get(requests_url(client_id, rid), headers=manager(runtime, demo)
                                             ).json()["notifications"]

    police = auth(token(runtime, demo.staff["police_officer"]), "wellbeing")
    assert http.get("/v1/notifications", headers=police).json() == []
    # The GGZ's own system fetches them on its own (client_credentials-like token of the party's system).
    from gateway import operations

    operations.register_partner(runtime, party=demo.parties["mental_health"], name="GGZ records",
                                client_id="ggz-records")
    system = runtime.tokens.mint(subject="ggz-records", scopes=frozenset({"events:write", "notifications:read"}),
                                 client_id="ggz-records", party=demo.parties["mental_health"], now=runtime.clock(),
                                 ttl_seconds=600)
    fetched = http.get("/v1/notifications", params={"pending": "true"}, headers=auth(system, "wellbeing"))
    assert fetched.status_code == 200, fetched.text
    [notice] = fetched.json()
    assert (notice["entry_id"], notice["request_id"], notice["correction"]) == (entry_id, rid, "improve")
    assert "hospital" not in fetched.text
    assert last_event(runtime, action=AuditAction.NOTIFICATION_LIST).detail == {"returned": 1, "pending": True}

    other = http.post(f"/v1/notifications/{parties[demo.parties['shelter']]['id']}/acknowledge",
                      headers=ggz(runtime, demo))
    assert other.status_code == 404
    acknowledged = http.post(f"/v1/notifications/{notice['id']}/acknowledge", headers=ggz(runtime, demo))
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_at"] is not None
    assert http.post(f"/v1/notifications/{notice['id']}/acknowledge", headers=ggz(runtime, demo)).status_code == 409
    assert http.get("/v1/notifications", params={"pending": "true"}, headers=ggz(runtime, demo)).json() == []
    shown = {n["party"]: n["acknowledged_at"] for n in
             http.get(requests_url(client_id, rid), headers=manager(runtime, demo)).json()["notifications"]}
    assert shown[demo.parties["mental_health"]] is not None and shown[demo.parties["shelter"]] is None
    event = last_event(runtime, action=AuditAction.NOTIFICATION_ACKNOWLEDGE, outcome=Outcome.PERMIT)
    assert (event.object_id, event.actor_party, event.detail) == (notice["id"], demo.parties["mental_health"],
                                                                  {"request": rid})


# --- the access copy --------------------------------------------------------------------------------------

def test_the_access_copy_holds_everything_but_the_withheld_and_who_looked(runtime, http, demo, client_id, clock):
    withheld = http.post(f"/v1/clients/{client_id}/entries", headers=manager(runtime, demo, "wellbeing"), json={
        "kind": "note", "category": "ordinary", "content": {"text": "SECRET-reported by a neighbour"},
        "confidentiality_ground": next(iter(runtime.covenant.confidentiality_grounds))})
    assert withheld.status_code == 201, withheld.text
    entries(http, runtime, demo, client_id, "ggz_worker", "wellbeing")
    clock.advance(dt.timedelta(days=1))
    entries(http, runtime, demo, client_id, "ggz_worker", "wellbeing")
    rid = record(http, runtime, demo, client_id, {"kind": "access"})["id"]
    step(http, runtime, demo, client_id, rid, "review")
    copy = http.get(requests_url(client_id, rid, "copy"), headers=manager(runtime, demo))
    assert copy.status_code == 200, copy.text
    body = copy.json()
    with runtime.session() as session:
        all_entries = session.scalars(select(Entry).where(Entry.client_id == uuid.UUID(client_id))).all()
    assert {entry["id"] for entry in body["entries"]} == {str(e.id) for e in all_entries} - {withheld.json()["id"]}
    assert all(entry["content"] for entry in body["entries"])
    assert [item["id"] for item in body["withheld"]] == [withheld.json()["id"]]
    assert body["withheld"][0]["ground"] and "content" not in body["withheld"][0]
    assert "SECRET" not in copy.text
    assert body["client"]["pseudonym"] and {member["party"] for member in body["team"]} == {
        demo.parties["shelter"], demo.parties["mental_health"]}
    ggz_days = {(access["date"], access["reads"]) for access in body["accesses"]
                if access["party"] == demo.parties["mental_health"]}
    assert {day for day, _ in ggz_days} == {"2026-11-23", "2026-11-24"}
    assert demo.staff["ggz_worker"] not in copy.text
    event = last_event(runtime, action=AuditAction.CLIENT_EXPORT)
    assert (event.outcome, event.detail["withheld"], event.detail["entries"]) == (
        Outcome.PERMIT, 1, len(all_entries) - 1)
    assert http.get(requests_url(client_id, rid, "copy"), headers=ggz(runtime, demo, "subject_rights")
                    ).status_code == 403


def test_an_access_request_refused_is_decided_without_a_copy_and_closed(runtime, http, demo, client_id):
    rid = record(http, runtime, demo, client_id, {"kind": "access"})["id"]
    step(http, runtime, demo, client_id, rid, "review")
    decided = step(http, runtime, demo, client_id, rid, "decision", {"outcome": "refused", "reasons": REASONS})
    assert (decided["outcome"], decided["copy_produced_at"]) == ("refused", None)
    assert step(http, runtime, demo, client_id, rid, "close")["status"] == "closed"
    assert events(runtime, action=AuditAction.CLIENT_EXPORT) == []


def test_a_correction_granted_in_part_carries_out_what_the_decision_says(runtime, http, demo, client_id):
    entry_id = write_note(http, runtime, demo, client_id, "Shouted at staff.")
    rid = correction(http, runtime, demo, client_id, entry_id, "delete")["id"]
    step(http, runtime, demo, client_id, rid, "review")
    decided = step(http, runtime, demo, client_id, rid, "decision",
                   {"outcome": "granted_in_part", "reasons": REASONS, "correction": "shield"})
    assert (decided["correction"], decided["carry_out"]) == ("delete", "shield")
    step(http, runtime, demo, client_id, rid, "carry-out")
    assert http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=manager(runtime, demo, "wellbeing")
                    ).status_code == 200
    assert http.get(f"/v1/clients/{client_id}/entries/{entry_id}", headers=ggz(runtime, demo)).status_code == 404
    assert step(http, runtime, demo, client_id, rid, "close")["status"] == "closed"


def test_an_objection_is_withdrawn_before_it_is_decided(runtime, http, demo, client_id):
    rid = record(http, runtime, demo, client_id, {"kind": "objection", "grounds": GROUNDS})["id"]
    step(http, runtime, demo, client_id, rid, "review")
    assert step(http, runtime, demo, client_id, rid, "withdraw")["status"] == "withdrawn"
    step(http, runtime, demo, client_id, rid, "decision", {"outcome": "justified", "reasons": REASONS}, status=409)
    assert events(runtime, action=AuditAction.CLIENT_PROCESSING_STOPPED) == []
    assert http.get("/v1/requests", headers=manager(runtime, demo)).json() == []


def test_another_client_manager_on_the_team_may_not_handle_the_clients_requests(runtime, http, demo, client_id):
    from sqlalchemy import insert

    from covenant import Role
    from gateway.care import service as care_service
    from gateway.parties import service as parties_service
    from gateway.parties.models import Staff
    from tests.gateway.helpers import act

    colleague = uuid.uuid4()
    with runtime.writer_engine.begin() as conn:
        conn.execute(insert(Staff), [parties_service.staff_row(
            staff_id=colleague, party=demo.parties["shelter"], handle="shelter.cm2", roles=[Role.CLIENT_MANAGER],
            now=runtime.clock())])
    act(runtime, demo.staff["client_manager"], lambda tx: care_service.grant_link(
        tx, client_id=uuid.UUID(client_id), staff_id=colleague, purpose="case_management", reason="stands in"))
    rid = record(http, runtime, demo, client_id, {"kind": "access"})["id"]
    headers = auth(token(runtime, colleague), "subject_rights")
    refused = http.post(requests_url(client_id, rid, "review"), headers=headers)
    assert refused.status_code == 403 and refused.json()["reason"] == "not_client_manager"
    event = last_event(runtime, action=AuditAction.REQUEST_REVIEW)
    assert (event.outcome, event.reason, event.actor_id, event.object_id) == (
        Outcome.DENY, "not_client_manager", str(colleague), rid)
    assert stored(runtime, rid).status == "received"
    assert http.get(requests_url(client_id, rid), headers=headers).status_code == 403
    assert http.get("/v1/requests", headers=headers).json() == []
