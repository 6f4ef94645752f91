"""Group commit on the real, migrated audit table, on both engines."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, insert, select, text

from audit import AuditEvent, AuditUnavailable, GroupCommitter, Outcome, UnitOfWork, verify_chain
from gateway.db import create_db_engine
from gateway.parties.models import Party
from tests.audit.helpers import draft, unit


@pytest.fixture
def writer_engine(databases):
    engine = create_db_engine(databases.data_url, writer=True)
    yield engine
    engine.dispose()


def test_concurrent_units_land_in_one_unbroken_chain(writer_engine):
    committer = GroupCommitter(writer_engine, max_batch=8)
    sealed, errors = {}, []

    def worker(first: int) -> None:
        for n in range(first, first + 25):
            try:
                sealed[n] = committer.commit(unit(n)).sealed
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i * 100,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = sorted(event.seq for events in sealed.values() for event in events)
    assert seqs == list(range(1, 201))
    with writer_engine.connect() as conn:
        report = verify_chain(conn)
    assert report.ok and report.events == 200


def test_a_failing_change_is_recorded_as_an_error_and_spares_the_others(writer_engine):
    committer = GroupCommitter(writer_engine)

    def add_party(code):
        return lambda conn: conn.execute(insert(Party).values(id=code, name="P", kind="shelter"))

    committer.commit(unit(1, apply=add_party("p1")))
    with pytest.raises(Exception) as refused:
        committer.commit(unit(2, apply=add_party("p1")))  # the same key again: the database refuses
    assert "IntegrityError" in type(refused.value).__name__
    committer.commit(unit(3, apply=add_party("p3")))
    with writer_engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.seq, AuditEvent.outcome, AuditEvent.reason)
                            .order_by(AuditEvent.seq)).all()
        parties = set(conn.scalars(select(Party.id)))
        assert verify_chain(conn).ok
    assert [(r.seq, r.outcome, r.reason) for r in rows] == [
        (1, Outcome.PERMIT, "permitted"), (2, Outcome.ERROR, "write_failed"), (3, Outcome.PERMIT, "permitted")]
    assert parties == {"p1", "p3"}


def test_a_unit_returns_what_its_change_returned(writer_engine):
    committed = GroupCommitter(writer_engine).commit(unit(1, apply=lambda conn: 42))
    assert committed.result == 42
    assert [event.seq for event in committed.sealed] == [1]


def test_when_the_trail_cannot_be_written_nothing_is_committed(writer_engine, tmp_path):
    # The same units against a database without the audit table: the insert fails, so the change
    # in the same transaction must not survive (fail closed).
    broken = create_db_engine(f"sqlite:///{tmp_path / 'no-trail.db'}", writer=True)
    with broken.begin() as conn:
        conn.execute(text("CREATE TABLE party (id VARCHAR(64) PRIMARY KEY, name VARCHAR(200), kind VARCHAR(64))"))
    committer = GroupCommitter(broken)
    with pytest.raises(AuditUnavailable):
        committer.commit(unit(1, apply=lambda conn: conn.execute(
            text("INSERT INTO party VALUES ('p1', 'P', 'shelter')"))))
    with broken.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM party")) == 0
    broken.dispose()


def test_committers_in_two_processes_share_one_chain(writer_engine, databases):
    # Two committers with their own engines stand for two gateway instances: the chain position is
    # taken under a lock that spans connections (SQLite's write lock, a PostgreSQL advisory lock).
    other = create_db_engine(databases.data_url, writer=True)
    first, second = GroupCommitter(writer_engine), GroupCommitter(other)
    threads = [threading.Thread(target=lambda c=c, base=base: [c.commit(unit(base + n)) for n in range(30)])
               for c, base in ((first, 0), (second, 1000))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with writer_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditEvent)) == 60
        assert verify_chain(conn).ok
    other.dispose()


def test_every_field_of_the_draft_is_stored(writer_engine):
    event = draft(5, categories="special", authority="care_link:x", access_point="GET /v1/x",
                  source_system="gateway-cli", request_id="r-1", on_behalf_of="system-1")
    GroupCommitter(writer_engine).commit(unit(0).__class__(events=[event]))
    with writer_engine.connect() as conn:
        row = conn.execute(select(AuditEvent)).one()
    for name in ("action", "outcome", "reason", "occurred_at", "actor_id", "client_pseudonym", "purpose",
                 "categories", "authority", "access_point", "source_system", "request_id", "on_behalf_of",
                 "detail", "id"):
        assert getattr(row, name) == getattr(event, name), name


def test_a_writer_whose_head_went_stale_reads_it_afresh(writer_engine, databases):
    # A keeps the head in memory; B (another process) appends meanwhile; A's next commit must land
    # after B's event, not collide with it or fork the chain.
    other = create_db_engine(databases.data_url, writer=True)
    first, second = GroupCommitter(writer_engine), GroupCommitter(other)
    assert [e.seq for e in first.commit(unit(1)).sealed] == [1]
    assert [e.seq for e in second.commit(unit(2)).sealed] == [2]
    assert [e.seq for e in first.commit(unit(3)).sealed] == [3]
    assert [e.seq for e in second.commit(unit(4)).sealed] == [4]
    with writer_engine.connect() as conn:
        assert verify_chain(conn).ok
    first.close()
    second.close()
    other.dispose()


def test_a_unit_that_cannot_be_stored_fails_alone(writer_engine):
    # An event whose detail is not JSON cannot be hashed or stored; whatever unit shares its
    # transaction must still be committed, and only the faulty one refused.
    committer = GroupCommitter(writer_engine)
    poison = committer.submit(UnitOfWork(events=[draft(1, detail={"not json": object()})]))
    good = committer.submit(unit(2))
    assert [e.seq for e in good.result(timeout=30).sealed] == [1]
    with pytest.raises(AuditUnavailable):
        poison.result(timeout=30)
    with writer_engine.connect() as conn:
        assert verify_chain(conn).ok
    committer.close()


def test_a_closed_writer_refuses_new_units(writer_engine):
    committer = GroupCommitter(writer_engine)
    committer.commit(unit(1))
    committer.close()
    with pytest.raises(AuditUnavailable):
        committer.submit(unit(2))
