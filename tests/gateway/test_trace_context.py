"""W3C Trace Context: a partner's traceparent is kept on every audit event of its request."""

from __future__ import annotations

import json

import httpx
import pytest

from audit import AuditAction, Outcome
from gateway.tracing import parse_traceparent
from tests.gateway.helpers import auth, events, token

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
NOTE = {"kind": "note", "category": "ordinary", "content": {"text": "Viewed a room at the Kerkstraat."}}


# --- parsing, pure -------------------------------------------------------------------------------------

def test_a_version_00_traceparent_is_read():
    trace = parse_traceparent([TRACEPARENT])
    assert (trace.value, trace.trace_id, trace.parent_id) == (TRACEPARENT, TRACE_ID, "00f067aa0ba902b7")


def test_a_later_version_is_read_as_version_00_and_its_extra_fields_are_left():
    trace = parse_traceparent([f"cc-{TRACE_ID}-00f067aa0ba902b7-09-what-the-future-adds"])
    assert trace.value == f"cc-{TRACE_ID}-00f067aa0ba902b7-09"


@pytest.mark.parametrize("header", [
    "",
    "garbage",
    TRACEPARENT.upper(),  # hex is lowercase
    f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id
    f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
    f"ff-{TRACE_ID}-00f067aa0ba902b7-01",  # version ff is invalid
    TRACEPARENT + "-extra",  # version 00 has nothing after the flags
    f"cc-{TRACE_ID}-00f067aa0ba902b7-01extra",  # a later version's extra field starts with "-"
    f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01",
    f"00_{TRACE_ID}_00f067aa0ba902b7_01",
])
def test_a_malformed_traceparent_is_none(header):
    assert parse_traceparent([header]) is None


def test_two_traceparents_are_none():
    assert parse_traceparent([TRACEPARENT, TRACEPARENT]) is None
    assert parse_traceparent([]) is None


# --- over HTTP -----------------------------------------------------------------------------------------

def entries(demo) -> str:
    return f"/v1/clients/{demo.clients[0]}/entries"


def test_every_event_of_a_traced_request_carries_the_partner_trace(runtime, demo, http):
    bearer = token(runtime, demo.staff["client_manager"])
    created = http.post(entries(demo), json=NOTE, headers={**auth(bearer), "traceparent": TRACEPARENT})
    assert created.status_code == 201
    recorded = events(runtime, request_id=created.headers["x-request-id"])
    assert recorded and {event.traceparent for event in recorded} == {TRACEPARENT}
    assert recorded[-1].action == AuditAction.RECORD_WRITE
    untraced = http.get(entries(demo), headers=auth(bearer))
    assert [event.traceparent for event in events(runtime, request_id=untraced.headers["x-request-id"])] == [None]


def test_a_refused_request_keeps_its_trace_too(runtime, demo, http):
    response = http.get(entries(demo), headers={"X-Purpose": "wellbeing", "traceparent": TRACEPARENT})
    assert response.status_code == 401
    [event] = events(runtime, request_id=response.headers["x-request-id"])
    assert (event.action, event.outcome, event.traceparent) == (AuditAction.AUTH_REJECTED, Outcome.DENY, TRACEPARENT)


@pytest.mark.parametrize("headers", [
    [("traceparent", TRACEPARENT.upper())],
    [("traceparent", f"00-{'0' * 32}-00f067aa0ba902b7-01")],
    [("traceparent", "x" * 5000)],
    [("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT)],
])
def test_an_invalid_trace_is_ignored_never_refused(runtime, demo, http, headers):
    bearer = token(runtime, demo.staff["client_manager"])
    response = http.get(entries(demo), headers=httpx.Headers([*auth(bearer).items(), *headers]))
    assert response.status_code == 200
    assert [event.traceparent for event in events(runtime, request_id=response.headers["x-request-id"])] == [None]


def test_the_trace_id_is_in_the_log_context(runtime, demo, http, capfd):
    from gateway.logging import configure_logging

    configure_logging(console=False)
    response = http.get(entries(demo), headers={"traceparent": TRACEPARENT})  # no token: refused, logged
    assert response.status_code == 401
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("event") == "request_finished"]
    assert finished and finished[-1]["trace_id"] == TRACE_ID
    assert finished[-1]["request_id"] == response.headers["x-request-id"]


def test_the_privacy_officer_finds_a_partner_trace(runtime, demo, http):
    bearer = token(runtime, demo.staff["client_manager"])
    other = f"00-{'a' * 32}-00f067aa0ba902b7-01"
    traced = http.post(entries(demo), json=NOTE, headers={**auth(bearer), "traceparent": TRACEPARENT})
    http.get(entries(demo), headers={**auth(bearer), "traceparent": other})
    officer = token(runtime, demo.staff["privacy_officer"])
    found = http.get("/v1/audit/events", params={"trace_id": TRACE_ID}, headers=auth(officer, "oversight"))
    assert found.status_code == 200
    assert [(e["request_id"], e["traceparent"]) for e in found.json()] == [
        (traced.headers["x-request-id"], TRACEPARENT)]
    refused = http.get("/v1/audit/events", params={"trace_id": TRACE_ID.upper()}, headers=auth(officer, "oversight"))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
