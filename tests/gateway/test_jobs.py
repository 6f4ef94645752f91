"""Scheduled jobs: the lease, the runner (decided, recorded, silent when idle), the two jobs, the scheduler.

Both engines, the controlled clock, no sleeping: the scheduler is started paused and its jobs'
functions are called as it would call them.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text

from audit import AuditAction, Outcome
from audit import seal as audit_seal
from gateway.auditlog.jobs import SEAL
from gateway.db import create_db_engine
from gateway.idempotency import PURGE, IdempotencyRecord
from gateway.jobs import lease
from gateway.jobs.job import Job
from gateway.jobs.models import JobLease
from gateway.jobs.registry import JOBS, job_names
from gateway.jobs.scheduler import build_scheduler
from gateway.jobs.service import DONE, ERROR, HELD, IDLE, list_jobs, run_job, run_scheduled
from tests.gateway.helpers import events, last_event

MINUTE = dt.timedelta(minutes=1)


def lease_row(runtime, name: str) -> JobLease | None:
    with runtime.engine.connect() as conn:
        return lease.leases(conn).get(name)


def take(runtime, name: str, holder: str, *, now, until, not_since=None) -> bool:
    with runtime.writer_engine.connect() as conn, conn.begin():
        return lease.acquire(conn, name, holder=holder, now=now, until=until, not_since=not_since)


def give_back(runtime, name: str, holder: str, *, now, outcome: str = DONE) -> bool:
    with runtime.writer_engine.connect() as conn, conn.begin():
        return lease.release(conn, name, holder=holder, now=now, outcome=outcome)


def checkpoints(runtime) -> list:
    with runtime.engine.connect() as conn:
        return audit_seal.checkpoints(conn)


# --- the lease ----------------------------------------------------------------------------------------

def test_a_lease_is_held_until_released_or_expired(runtime, clock):
    now = clock()
    assert take(runtime, "test.job", "a", now=now, until=now + 10 * MINUTE)
    assert not take(runtime, "test.job", "b", now=now, until=now + 10 * MINUTE)
    clock.advance(9 * MINUTE)
    assert not take(runtime, "test.job", "b", now=clock(), until=clock() + 10 * MINUTE)
    clock.advance(2 * MINUTE)  # a's lease ran out: a's instance is presumed dead
    assert take(runtime, "test.job", "b", now=clock(), until=clock() + 10 * MINUTE)
    assert not give_back(runtime, "test.job", "a", now=clock())  # a late finish does not free b's lease
    row = lease_row(runtime, "test.job")
    assert (row.holder, row.last_started, row.last_outcome) == ("b", clock(), None)
    assert give_back(runtime, "test.job", "b", now=clock() + MINUTE, outcome=ERROR)
    row = lease_row(runtime, "test.job")
    assert (row.holder, row.held_until, row.last_finished, row.last_outcome) == (None, None, clock() + MINUTE, ERROR)
    assert take(runtime, "test.job", "c", now=clock(), until=clock() + MINUTE)


def test_a_scheduled_acquire_is_refused_until_the_spacing_has_passed(runtime, clock):
    now = clock()
    assert take(runtime, "test.job", "a", now=now, until=now + MINUTE)
    assert give_back(runtime, "test.job", "a", now=now)
    assert not take(runtime, "test.job", "b", now=now, until=now + MINUTE, not_since=now - 30 * dt.timedelta(seconds=1))
    later = now + MINUTE
    assert take(runtime, "test.job", "b", now=later, until=later + MINUTE, not_since=later - dt.timedelta(seconds=30))


@pytest.mark.parametrize("existing", [False, True], ids=["first-run-inserts", "later-run-updates"])
def test_of_two_connections_racing_for_a_lease_exactly_one_wins(runtime, databases, clock, existing):
    now = clock()
    engines = [create_db_engine(databases.data_url, writer=True) for _ in range(2)]
    try:
        for attempt in range(5):
            name = f"test.race_{attempt}"
            if existing:
                assert take(runtime, name, "earlier", now=now - MINUTE, until=now - MINUTE)  # expired
            start = threading.Barrier(2)
            won: list[bool] = []

            def contend(engine, holder: str) -> None:
                with engine.connect() as conn:
                    start.wait()
                    with conn.begin():
                        won.append(lease.acquire(conn, name, holder=holder, now=now, until=now + MINUTE))

            threads = [threading.Thread(target=contend, args=(engine, f"h{i}")) for i, engine in enumerate(engines)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(won) == [False, True]
            assert lease_row(runtime, name).holder in ("h0", "h1")
    finally:
        for engine in engines:
            engine.dispose()


# --- the runner ---------------------------------------------------------------------------------------

def test_the_seal_job_seals_its_own_event_and_then_stays_silent(runtime, demo, clock):
    run = run_job(runtime, SEAL, manual=False)
    assert run.outcome == DONE and run.counts["unsealed"] > 0
    recorded = last_event(runtime, action=AuditAction.JOB_RUN)
    assert (recorded.outcome, recorded.reason, recorded.authority, recorded.purpose) == (
        Outcome.PERMIT, "started", "role:administrator", "covenant_administration")
    assert (recorded.actor_id, recorded.source_system, recorded.access_point) == (
        "administrator", "gateway-scheduler", "job:audit.seal")
    assert recorded.detail == {"job": "audit.seal", "outcome": "started", "counts": {"unsealed": run.counts["unsealed"]}}
    assert run.counts["tree_size"] == recorded.seq
    [checkpoint] = checkpoints(runtime)
    assert checkpoint.tree_size == recorded.seq == len(events(runtime))  # the checkpoint covers its own event
    assert lease_row(runtime, "audit.seal").last_outcome == DONE

    before = len(events(runtime))
    for _ in range(3):
        clock.advance(MINUTE)
        assert run_job(runtime, SEAL, manual=False).outcome == IDLE
    assert len(events(runtime)) == before and len(checkpoints(runtime)) == 1
    row = lease_row(runtime, "audit.seal")
    assert (row.last_started, row.last_outcome, row.holder) == (clock(), IDLE, None)

    list_jobs(runtime)  # anything new in the trail is sealed by the next run
    clock.advance(MINUTE)
    assert run_job(runtime, SEAL, manual=False).outcome == DONE
    assert checkpoints(runtime)[-1].tree_size == len(events(runtime))


def test_a_scheduled_run_is_not_repeated_by_another_instance_within_its_period(runtime, demo, clock):
    assert run_job(runtime, SEAL, manual=False).outcome == DONE
    list_jobs(runtime)
    before = len(events(runtime))
    assert run_job(runtime, SEAL, manual=False).outcome == HELD  # the same minute, on "another instance"
    assert len(events(runtime)) == before
    assert run_job(runtime, SEAL, manual=True).outcome == DONE  # the operator is not held back


def test_a_manual_run_is_refused_and_recorded_while_another_holds_the_lease(runtime, demo, clock):
    assert take(runtime, "audit.seal", "elsewhere", now=clock(), until=clock() + 10 * MINUTE)
    assert run_job(runtime, SEAL, manual=True).outcome == HELD
    refused = last_event(runtime, action=AuditAction.JOB_RUN)
    assert (refused.outcome, refused.reason, refused.access_point) == (Outcome.DENY, "lease_held", "cli:jobs run")
    assert checkpoints(runtime) == []
    before = len(events(runtime))
    assert run_job(runtime, SEAL, manual=False).outcome == HELD  # scheduled: silent
    assert len(events(runtime)) == before
    assert lease_row(runtime, "audit.seal").holder == "elsewhere"


def test_the_purge_job_deletes_only_expired_records(runtime, clock):
    table = IdempotencyRecord.__table__
    now = clock()
    rows = [{"key_digest": f"{i:064x}", "fingerprint": "f" * 64, "request_id": None, "status_code": 201,
             "response": b"sealed", "created_at": now - dt.timedelta(hours=24), "expires_at": expires}
            for i, expires in enumerate((now - MINUTE, now, now + dt.timedelta(hours=2)))]
    with runtime.writer_engine.connect() as conn, conn.begin():
        conn.execute(table.insert(), rows)
    run = run_job(runtime, PURGE, manual=False)
    assert (run.outcome, run.counts) == (DONE, {"purged": 2})
    with runtime.engine.connect() as conn:
        assert list(conn.execute(select(table.c.key_digest)).scalars()) == [f"{2:064x}"]
    recorded = last_event(runtime, action=AuditAction.JOB_RUN)
    assert (recorded.reason, recorded.detail) == ("completed", {"job": "idempotency.purge", "outcome": DONE,
                                                                "counts": {"purged": 2}})
    before = len(events(runtime))
    clock.advance(dt.timedelta(hours=1))
    assert run_job(runtime, PURGE, manual=False).outcome == IDLE
    assert len(events(runtime)) == before  # an idle hourly run leaves no trace in the trail
    assert lease_row(runtime, "idempotency.purge").last_outcome == IDLE
    assert run_job(runtime, PURGE, manual=True).outcome == IDLE  # the operator's run is recorded, idle or not
    assert last_event(runtime, action=AuditAction.JOB_RUN).detail["outcome"] == IDLE


def test_a_failing_job_is_recorded_as_an_error_and_runs_again_next_time(runtime, clock, capsys):
    calls = []

    def flaky(runtime, tx):
        calls.append(tx.now)
        if len(calls) == 1:
            raise RuntimeError("client 123456782 could not be read")  # a message that must go nowhere
        return {"done": 1}

    job = Job(name="test.flaky", description="fails once", work=flaky, every=MINUTE)
    assert run_scheduled(runtime, job.name, (job,)).outcome == ERROR
    failed = last_event(runtime, action=AuditAction.JOB_RUN)
    assert (failed.outcome, failed.reason, failed.object_id) == (Outcome.ERROR, "job_failed", "test.flaky")
    assert failed.detail == {"job": "test.flaky", "outcome": ERROR, "error": "RuntimeError"}
    row = lease_row(runtime, "test.flaky")
    assert (row.last_outcome, row.holder) == (ERROR, None)
    clock.advance(MINUTE)
    assert run_scheduled(runtime, job.name, (job,)).outcome == DONE
    assert len(calls) == 2 and lease_row(runtime, "test.flaky").last_outcome == DONE
    captured = capsys.readouterr()
    assert "123456782" not in captured.out + captured.err


def test_what_a_failing_job_queued_is_not_written_and_its_events_are_kept_as_errors(runtime, clock):
    def half_done(runtime, tx):
        tx.write(lambda conn: conn.execute(text("INSERT INTO job_lease (name) VALUES ('test.trace')")))
        tx.record(AuditAction.JOB_RUN, outcome=Outcome.PERMIT, reason="step", purpose="covenant_administration")
        raise ValueError("halfway")

    job = Job(name="test.half", description="", work=half_done, every=MINUTE)
    assert run_job(runtime, job, manual=False).outcome == ERROR
    assert lease_row(runtime, "test.trace") is None
    recorded = events(runtime, action=AuditAction.JOB_RUN)
    assert [(event.outcome, event.reason) for event in recorded] == [(Outcome.ERROR, "job_failed")] * 2


def test_jobs_list_shows_schedules_and_last_runs_and_is_recorded(runtime, demo, clock):
    run_job(runtime, SEAL, manual=False)
    listed = {row["name"]: row for row in list_jobs(runtime)}
    assert list(listed) == job_names() == ["audit.seal", "idempotency.purge", "request.deadlines",
                                           "retention.purge", "keys.rotate"]
    assert listed["retention.purge"]["schedule"] == "cron 30 2 * * *"
    assert listed["audit.seal"]["schedule"] == "every 1 minute"
    assert listed["request.deadlines"]["schedule"] == "cron 0 7 * * *"
    assert listed["idempotency.purge"]["schedule"] == "every 1 hour"
    assert listed["audit.seal"]["last_outcome"] == DONE
    assert listed["audit.seal"]["last_started"] == clock().isoformat()
    assert listed["idempotency.purge"]["last_started"] is None and listed["audit.seal"]["held_by"] is None
    recorded = last_event(runtime, action=AuditAction.JOB_LIST)
    assert (recorded.outcome, recorded.authority) == (Outcome.PERMIT, "role:administrator")


# --- the scheduler ------------------------------------------------------------------------------------

def test_the_scheduler_registers_every_job_and_its_trigger_runs_it(runtime, demo):
    scheduler = build_scheduler(runtime)
    scheduler.start(paused=True)
    try:
        registered = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(registered) == sorted(job.name for job in JOBS)
        for job in JOBS:
            planned = registered[job.name]
            assert (planned.coalesce, planned.max_instances) == (True, 1)
            if job.every is not None:
                assert planned.trigger.interval == job.every
            else:  # a cron job fires in the covenant's time zone
                fire = planned.trigger.get_next_fire_time(None, dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC))
                assert fire.tzinfo.key == runtime.settings.timezone and fire.hour == int(job.cron.split()[1])
        seal = registered["audit.seal"]
        assert seal.func(*seal.args).outcome == DONE  # what the scheduler calls when the minute comes
        assert len(checkpoints(runtime)) == 1
    finally:
        scheduler.shutdown(wait=True)
    assert not scheduler.running


def test_a_cron_job_is_spaced_by_its_schedule():
    nightly = Job(name="test.nightly", description="", work=lambda runtime, tx: {}, cron="0 3 * * *")
    from zoneinfo import ZoneInfo

    assert nightly.schedule == "cron 0 3 * * *"
    assert nightly.spacing(ZoneInfo("Europe/Amsterdam")) in (dt.timedelta(hours=12), dt.timedelta(hours=11, minutes=30),
                                                              dt.timedelta(hours=12, minutes=30))
    with pytest.raises(ValueError):
        Job(name="Bad Name", description="", work=lambda runtime, tx: {}, every=MINUTE)
    with pytest.raises(ValueError):
        Job(name="test.both", description="", work=lambda runtime, tx: {}, every=MINUTE, cron="0 3 * * *")
