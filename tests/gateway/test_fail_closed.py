"""Fail closed: when the trail cannot be written, nothing is answered or changed (R1, R2)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from gateway.records.models import Entry
from tests.gateway.helpers import auth, events, token

_SQLITE_BLOCK = ("CREATE TRIGGER audit_full BEFORE INSERT ON audit_event "
                 "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
_PG_BLOCK = [
    "CREATE FUNCTION audit_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
    "CREATE TRIGGER audit_full BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_full()",
]
_PG_UNBLOCK = ["DROP TRIGGER audit_full ON audit_event", "DROP FUNCTION audit_full()"]


@pytest.fixture
def trail_unwritable(runtime, databases, engine_name):
    """Inject the failure at the database: every insert into the trail fails."""
    engine = create_engine(databases.data_url)
    with engine.begin() as conn:
        for statement in ([_SQLITE_BLOCK] if engine_name == "sqlite" else _PG_BLOCK):
            conn.execute(text(statement))
    yield
    with engine.begin() as conn:
        for statement in (["DROP TRIGGER audit_full"] if engine_name == "sqlite" else _PG_UNBLOCK):
            conn.execute(text(statement))
    engine.dispose()


def _entry_count(runtime) -> int:
    with runtime.session() as session:
        return session.scalar(select(func.count()).select_from(Entry))


def test_no_answer_and_no_change_without_the_audit_event(runtime, demo, http, request):
    bearer = token(runtime, demo.staff["client_manager"])
    url = f"/v1/clients/{demo.clients[0]}/entries"
    entries_before, events_before = _entry_count(runtime), len(events(runtime))
    entry_id = http.get(url, headers=auth(bearer)).json()[0]["id"]
    request.getfixturevalue("trail_unwritable")

    for response in (http.get(url, headers=auth(bearer)),
                     http.get(f"{url}/{entry_id}", headers=auth(bearer)),
                     http.post(url, headers=auth(bearer),
                               json={"kind": "note", "category": "ordinary", "content": {"text": "LOST-NOTE"}})):
        assert response.status_code == 503, response.text
        assert response.json()["type"].endswith("/audit-unavailable")
        assert response.headers["retry-after"] == "5"
        assert "content" not in response.text and "LOST-NOTE" not in response.text

    assert _entry_count(runtime) == entries_before
    assert len(events(runtime)) == events_before + 1  # only the list made before the failure


def test_every_answered_read_has_its_event_committed_before_the_answer(runtime, demo, http):
    bearer = token(runtime, demo.staff["client_manager"])
    for _ in range(5):
        response = http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(bearer))
        assert response.status_code == 200
        # Read back from the database on another connection, right after the answer arrived.
        assert [e.request_id for e in events(runtime, request_id=response.headers["x-request-id"])] == [
            response.headers["x-request-id"]]
