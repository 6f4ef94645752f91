"""Tamper evidence: verify names the first event that was changed, removed, inserted or reordered."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select, text, update

from audit import AuditEvent, GroupCommitter, UnitOfWork, verify_chain
from audit.chain import link
from gateway.db import create_db_engine
from tests.audit.helpers import draft, unit, without_append_only_guard

EVENTS = 40


@pytest.fixture
def trail(databases):
    engine = create_db_engine(databases.data_url, writer=True)
    committer = GroupCommitter(engine)
    for n in range(1, EVENTS + 1):
        committer.commit(unit(n))
    yield engine
    engine.dispose()


def verify(engine):
    with engine.connect() as conn:
        return verify_chain(conn)


def test_an_intact_trail_verifies(trail):
    report = verify(trail)
    assert (report.ok, report.events, report.first_bad_seq) == (True, EVENTS, None)


def test_an_empty_trail_verifies(databases):
    engine = create_db_engine(databases.data_url)
    assert verify(engine).ok and verify(engine).events == 0
    engine.dispose()


def test_the_application_cannot_change_or_delete_events(trail):
    for statement in (update(AuditEvent).where(AuditEvent.seq == 3).values(reason="x"),
                      AuditEvent.__table__.delete().where(AuditEvent.seq == 3)):
        with pytest.raises(Exception, match="append-only"):
            with trail.begin() as conn:
                conn.execute(statement)
    assert verify(trail).ok


@pytest.mark.parametrize("field,value", [("reason", "permitted_by_dba"), ("actor_id", "someone-else"),
                                         ("client_pseudonym", "CL-9999-9999"), ("detail", {"n": -1})])
def test_a_changed_event_is_named(trail, field, value):
    with without_append_only_guard(trail) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == 17).values(**{field: value}))
        conn.commit()
    report = verify(trail)
    assert (report.ok, report.first_bad_seq) == (False, 17)
    assert "does not match its hash" in report.describe()


def test_a_deleted_event_is_named(trail):
    with without_append_only_guard(trail) as conn:
        conn.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == 23))
        conn.commit()
    report = verify(trail)
    assert (report.ok, report.first_bad_seq) == (False, 23)
    assert "missing" in report.problem


def test_a_deleted_first_event_is_named(trail):
    with without_append_only_guard(trail) as conn:
        conn.execute(AuditEvent.__table__.delete().where(AuditEvent.seq == 1))
        conn.commit()
    assert verify(trail).first_bad_seq == 1


def test_an_inserted_event_is_named(trail):
    # A forger makes room at position 10 and inserts an event whose hash is right for its own content,
    # but the event after it no longer links to its predecessor.
    with without_append_only_guard(trail) as conn:
        rows = conn.execute(select(AuditEvent).where(AuditEvent.seq >= 10).order_by(AuditEvent.seq.desc())).all()
        for row in rows:
            conn.execute(update(AuditEvent).where(AuditEvent.seq == row.seq).values(seq=row.seq + 1000))
        for row in reversed(rows):
            conn.execute(update(AuditEvent).where(AuditEvent.seq == row.seq + 1000).values(seq=row.seq + 1))
        previous = conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq == 9)).mappings().one()
        forged = dict(previous)
        forged.update(seq=10, id=uuid.uuid4(), actor_id="forger", prev_hash=previous["hash"])
        forged["hash"] = link(previous["hash"], forged)
        conn.execute(insert(AuditEvent).values(**forged))
        conn.commit()
    report = verify(trail)
    assert (report.ok, report.first_bad_seq) == (False, 11)
    assert "does not link" in report.problem


def test_reordered_events_are_named(trail):
    with without_append_only_guard(trail) as conn:
        for old, new in ((30, -30), (31, 30), (-30, 31)):
            conn.execute(update(AuditEvent).where(AuditEvent.seq == old).values(seq=new))
        conn.commit()
    report = verify(trail)
    assert (report.ok, report.first_bad_seq) == (False, 30)


def test_verification_streams_large_trails_in_batches(databases):
    engine = create_db_engine(databases.data_url, writer=True)
    committer = GroupCommitter(engine)
    for n in range(1, 26):
        committer.commit(unit(n))
    with engine.connect() as conn:
        report = verify_chain(conn, batch=7)
    assert report.ok and report.events == 25
    engine.dispose()


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def traced_trail(databases):
    """Events with and without a partner's trace context, as a trail written across 0002http has."""
    engine = create_db_engine(databases.data_url, writer=True)
    committer = GroupCommitter(engine)
    for n in range(1, 11):
        committer.commit(UnitOfWork(events=[draft(n, traceparent=TRACEPARENT if n % 2 else None)]))
    yield engine
    engine.dispose()


def test_a_trail_with_and_without_trace_context_verifies(traced_trail):
    assert verify(traced_trail).ok
    with traced_trail.connect() as conn:
        stored = dict(conn.execute(select(AuditEvent.seq, AuditEvent.traceparent)).all())
    assert stored[5] == TRACEPARENT and stored[6] is None


@pytest.mark.parametrize("seq,value", [
    (5, TRACEPARENT.replace("4bf9", "0000")),  # another trace put on the event
    (5, None),  # the trace taken off
    (6, TRACEPARENT),  # a trace put on an event that had none
])
def test_a_changed_trace_context_is_named(traced_trail, seq, value):
    with without_append_only_guard(traced_trail) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(traceparent=value))
        conn.commit()
    report = verify(traced_trail)
    assert (report.ok, report.first_bad_seq) == (False, seq)


def test_a_check_goes_on_from_an_earlier_one(trail):
    with trail.connect() as conn:
        first = verify_chain(conn)
    committer = GroupCommitter(trail)
    for n in range(EVENTS + 1, EVENTS + 6):
        committer.commit(unit(n))
    committer.close()
    with trail.connect() as conn:
        resumed = verify_chain(conn, resume=first)
        full = verify_chain(conn)
    assert (resumed.ok, resumed.events, resumed.last_hash) == (True, EVENTS + 5, full.last_hash)


def test_a_resumed_check_finds_a_change_after_where_it_started(trail):
    with trail.connect() as conn:
        first = verify_chain(conn)
    committer = GroupCommitter(trail)
    for n in range(EVENTS + 1, EVENTS + 4):
        committer.commit(unit(n))
    committer.close()
    with without_append_only_guard(trail) as conn:
        conn.execute(update(AuditEvent).where(AuditEvent.seq == EVENTS + 2).values(reason="rewritten"))
        conn.commit()
    with trail.connect() as conn:
        resumed = verify_chain(conn, resume=first)
    assert (resumed.ok, resumed.first_bad_seq) == (False, EVENTS + 2)
