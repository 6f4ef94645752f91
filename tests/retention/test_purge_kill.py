"""A purge killed with SIGKILL part-way through is finished by the next run, which ends where an
uninterrupted run would have: ``gateway purge`` as an operator runs it, in a process of its own, against
the test's SQLite files or PostgreSQL schemas. The kill is deterministic: in demo mode only,
``GATEWAY_TEST_PURGE_KILL_AFTER=N`` makes the process SIGKILL itself after its N-th durable step (per
batch: 1 mark, 2 shred the keys, 3 delete the rows)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from audit import AuditAction, AuditEvent, verify_chain
from gateway.retention import holds as holds_service
from gateway.vault import ClientKey
from tests.gateway.helpers import act
from tests.retention.test_purge import DAY_AFTER, has_key, new_client, rows_about

GATEWAY = [sys.executable, "-m", "gateway.cli"]


@pytest.fixture
def env(databases, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environment.update(GATEWAY_HOME=str(tmp_path), GATEWAY_DATABASE_URL=databases.data_url,
                       GATEWAY_KEYSTORE_URL=databases.keystore_url, GATEWAY_KEYS_DIR=str(tmp_path / "keys"),
                       GATEWAY_LOG_FORMAT="json", GATEWAY_SCHEDULER="false")
    return environment


def gateway(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*GATEWAY, *args], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])


def state(runtime, clients) -> dict:
    """Which clients still have rows (and how many of each) and which still have a data key."""
    return {client: (rows_about(runtime, client), has_key(runtime, client)) for client in clients}


@pytest.mark.parametrize("kill_after", [1, 2, 5])
def test_a_killed_purge_is_finished_by_the_next_run(runtime, demo, env, kill_after):
    officer = demo.staff["privacy_officer"]
    doomed = [uuid.UUID(demo.clients[0])] + [new_client(runtime, demo) for _ in range(4)]
    held = new_client(runtime, demo)
    act(runtime, officer, lambda tx: holds_service.place_hold(tx, held, purpose="subject_rights",
                                                              reason="kept for a dispute about this file"))
    everyone = [*doomed, held]
    before = state(runtime, everyone)

    killed = gateway({**env, "GATEWAY_TEST_PURGE_KILL_AFTER": str(kill_after)}, "purge",
                     "--today", DAY_AFTER.isoformat(), "--batch-size", "2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # Killed: no client is half-destroyed and still readable. A client with its key has all its rows;
    # the held client is untouched.
    for client in everyone:
        rows, keyed = state(runtime, [client])[client]
        if keyed:
            assert rows == before[client][0]
    assert state(runtime, [held]) == {held: before[held]}

    # The killed run still holds the job's lease: a run now is refused until it expires.
    refused = gateway(env, "purge", "--today", DAY_AFTER.isoformat())
    assert refused.returncode == 1 and "lease" in refused.stderr
    with runtime.writer_engine.begin() as conn:  # the two hours of the lease pass
        conn.execute(text("UPDATE job_lease SET held_until = NULL WHERE name = 'retention.purge'"))

    finished = gateway(env, "purge", "--today", DAY_AFTER.isoformat(), "--batch-size", "2")
    assert finished.returncode == 0, finished.stderr

    # The end state of an uninterrupted run: the five due clients gone, rows and keys; the held one whole.
    after = state(runtime, everyone)
    assert all(after[client] == ({}, False) for client in doomed)
    assert after[held] == before[held]
    with runtime.keystore_engine.connect() as conn:
        keys = set(conn.scalars(select(ClientKey.client_id)))
    assert keys.isdisjoint(doomed) and held in keys
    with runtime.engine.connect() as conn:
        purged = list(conn.scalars(select(AuditEvent.client_pseudonym)
                                   .where(AuditEvent.action == AuditAction.RETENTION_PURGE.value)))
        report = verify_chain(conn)
    assert len(purged) == len(set(purged)) == len(doomed)  # one event per destroyed client, none twice
    assert report.ok, report.describe()
    again = gateway(env, "purge", "--today", DAY_AFTER.isoformat())
    assert again.returncode == 0 and " 0 client(s) destroyed" in again.stdout


def test_gateway_purge_dry_run_lists_pseudonyms_and_destroys_nothing(runtime, demo, env):
    client = new_client(runtime, demo)
    before = state(runtime, [client])
    result = gateway(env, "purge", "--dry-run", "--today", DAY_AFTER.isoformat())
    assert result.returncode == 0, result.stderr
    with runtime.engine.connect() as conn:
        pseudonyms = set(conn.scalars(text("SELECT pseudonym FROM client")))
    assert set(result.stdout.split()) == pseudonyms and len(pseudonyms) == 2
    assert "2 client(s) would be destroyed (5 entries), 0 held" in result.stderr
    assert state(runtime, [client]) == before
    with runtime.engine.connect() as conn:
        recorded = conn.execute(select(AuditEvent.action, AuditEvent.detail).where(
            AuditEvent.action.in_([AuditAction.RETENTION_RUN.value, AuditAction.JOB_RUN.value]))).all()
    assert [action for action, _ in recorded] == ["retention.run", "job.run"]
    assert recorded[0][1]["dry_run"] is True
    malformed = gateway(env, "purge", "--today", "24-11-2031")
    assert malformed.returncode == 2 and "YYYY-MM-DD" in malformed.stderr
