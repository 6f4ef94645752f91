"""Reading the de-identified statistics extract (art. 9.4-9.5) over HTTP, on both engines: the controller's
field directors get the kept rows (JSON or CSV), never the held ones; everyone else is refused on record."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import insert, update

from audit import AuditAction, Outcome, UnitOfWork
from gateway.parties.models import Staff
from gateway.statistics.models import StatisticsExtract, StatisticsHeld
from tests.gateway.helpers import auth, events, last_event, token

URL = "/v1/statistics/extract"
COLUMNS = ["level", "registered", "last_contact", "party_kinds", "entries", "entries_ordinary", "entries_special",
           "entries_criminal", "objection"]
KEPT = [
    {"level": 2, "registered": "2026", "last_contact": "2026", "party_kinds": "*", "entries": "5-19",
     "entries_ordinary": "5-19", "entries_special": "1-4", "entries_criminal": "0", "objection": False},
    {"level": 0, "registered": "2026-Q1", "last_contact": "2026-Q4", "party_kinds": "mental_health+shelter",
     "entries": "1-4", "entries_ordinary": "1-4", "entries_special": "0", "entries_criminal": "0", "objection": True},
]
HELD = {"level": 0, "registered": "2027-Q3", "last_contact": "2027-Q3", "party_kinds": "police+shelter",
        "entries": "20-99", "entries_ordinary": "20-99", "entries_special": "0", "entries_criminal": "1-4",
        "objection": False}


@pytest.fixture
def extract(runtime):
    """Two kept rows and one held row, as the purge's hook leaves them (the hook has tests of its own)."""
    runtime.committer.commit(UnitOfWork(events=[], apply=lambda conn: (
        conn.execute(insert(StatisticsExtract), [{"id": uuid.uuid4(), **row} for row in KEPT]),
        conn.execute(insert(StatisticsHeld).values(id=uuid.uuid4(), **HELD)))))


def director(runtime, demo) -> str:
    return token(runtime, demo.staff["field_director"])


def test_the_controllers_field_director_reads_the_kept_rows_and_never_the_held(runtime, demo, http, extract):
    answer = http.get(URL, headers=auth(director(runtime, demo), "statistics"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert (body["covenant"]["id"], body["k"], body["columns"]) == (
        runtime.covenant.id, runtime.covenant.retention.statistics_k, COLUMNS)
    assert body["rows"] == sorted(KEPT, key=lambda row: tuple(str(row[name]) for name in COLUMNS))
    assert HELD["registered"] not in answer.text

    event = last_event(runtime, action=AuditAction.STATISTICS_EXPORT)
    assert (event.outcome, event.actor_id, event.authority, event.purpose) == (
        Outcome.PERMIT, demo.staff["field_director"], "controller:field_director", "statistics")
    assert (event.object_type, event.object_id, event.client_pseudonym) == ("statistics_extract", None, None)
    assert event.detail == {"format": "json", "rows": 2}


def test_the_extract_as_csv(runtime, demo, http, extract):
    answer = http.get(URL, params={"format": "csv"}, headers=auth(director(runtime, demo), "statistics"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="statistics-extract.csv"'
    [header, *lines] = list(csv.reader(io.StringIO(answer.text)))
    assert header == COLUMNS and len(lines) == 2
    assert {line[COLUMNS.index("objection")] for line in lines} == {"true", "false"}
    assert {line[COLUMNS.index("party_kinds")] for line in lines} == {"*", "mental_health+shelter"}
    assert last_event(runtime, action=AuditAction.STATISTICS_EXPORT).detail == {"format": "csv", "rows": 2}


def test_an_empty_extract_is_an_empty_list(runtime, demo, http):
    answer = http.get(URL, headers=auth(director(runtime, demo), "statistics"))
    assert answer.status_code == 200 and answer.json()["rows"] == []
    assert last_event(runtime, action=AuditAction.STATISTICS_EXPORT).detail == {"format": "json", "rows": 0}


@pytest.mark.parametrize(("member", "scopes", "purpose", "reason"), [
    ("privacy_officer", None, "statistics", "role_not_for_purpose"),
    ("client_manager", None, "statistics", "scope_missing"),
    ("client_manager", {"reports:read"}, "statistics", "role_not_for_purpose"),
    ("ggz_worker", None, "statistics", "scope_missing"),
    ("field_director", None, "accountability", "purpose_not_for_action"),
])
def test_anyone_else_is_refused_with_403_on_record(runtime, demo, http, extract, member, scopes, purpose, reason):
    bearer = token(runtime, demo.staff[member], scopes=scopes)
    answer = http.get(URL, headers=auth(bearer, purpose))
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "rows" not in answer.text and KEPT[1]["party_kinds"] not in answer.text
    event = last_event(runtime, action=AuditAction.STATISTICS_EXPORT)
    assert (event.outcome, event.reason, event.actor_id) == (Outcome.DENY, reason, demo.staff[member])


def test_a_field_director_of_another_party_is_not_the_controller(runtime, demo, http, extract):
    staff_id = uuid.UUID(demo.staff["field_director"])
    runtime.committer.commit(UnitOfWork(events=[], apply=lambda conn: conn.execute(
        update(Staff).where(Staff.id == staff_id).values(party_id=demo.parties["shelter"]))))
    answer = http.get(URL, headers=auth(token(runtime, staff_id), "statistics"))
    assert answer.status_code == 403 and answer.json()["reason"] == "not_controller"
    assert last_event(runtime, action=AuditAction.STATISTICS_EXPORT).reason == "not_controller"


def test_no_token_is_401_and_an_unknown_format_422_with_nothing_read(runtime, demo, http, extract):
    assert http.get(URL, headers=auth(None, "statistics")).status_code == 401
    answer = http.get(URL, params={"format": "xlsx"}, headers=auth(director(runtime, demo), "statistics"))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert events(runtime, action=AuditAction.STATISTICS_EXPORT) == []


def test_the_administrator_may_not_read_it(runtime):
    """The extract is the controller's; the processor's administrator exports the register and the report,
    not this."""
    from covenant import Action, Resource
    from gateway.transaction import Actor, Transaction

    tx = Transaction(runtime, access_point="test", actor=Actor.administrator())
    decision = tx.decide(Action.STATISTICS_READ, Resource(), purpose="statistics")
    tx.abandon("test")
    assert not decision.allowed
