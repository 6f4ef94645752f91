"""Crypto-shredding and backups: the key-encryption key is replaced before it is ``[retention] backup_grace``
old (job ``keys.rotate``), so a key-store backup taken under it opens nothing after that term.

Both engines, the controlled clock; the job is run as the scheduler runs it (:func:`run_job`).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from audit import AuditAction, Outcome
from gateway.jobs.service import DONE, IDLE, run_job
from gateway.retention.jobs import KEK_ROTATION, kek_rotation_due
from gateway.vault import ClientKey, VaultError
from tests.gateway.helpers import auth, events, token

DAY = dt.timedelta(days=1)


def key_store_backup(runtime) -> list:
    """What a backup of the key store holds: every wrapped data key and the KEK that wraps it."""
    with runtime.keystore_engine.connect() as conn:
        return conn.execute(select(ClientKey.client_id, ClientKey.version, ClientKey.wrapped_key,
                                   ClientKey.kek_id)).all()


def test_the_key_encryption_key_is_replaced_the_day_before_it_is_backup_grace_old(runtime, demo, clock, http):
    made = runtime.vault.active_kek_since()
    grace_ends = runtime.covenant.retention.backup_grace.after(made.astimezone(runtime.settings.zone).date())
    assert grace_ends - made.astimezone(runtime.settings.zone).date() == 30 * DAY
    backup = key_store_backup(runtime)
    assert backup and {row.kek_id for row in backup} == {runtime.vault._ring.active_id()}

    clock.advance(28 * DAY)  # 28 days old: not yet
    assert not kek_rotation_due(runtime, clock().astimezone(runtime.settings.zone).date())
    assert run_job(runtime, KEK_ROTATION, manual=False).outcome == IDLE
    assert runtime.vault.active_kek_since() == made
    assert events(runtime, action=AuditAction.KEYS_ROTATE) == []

    clock.advance(DAY)  # 29 days old: the last daily run before the term
    run = run_job(runtime, KEK_ROTATION, manual=False)
    assert run.outcome == DONE and run.counts["rotated"] == 1 and run.counts["rewrapped"] == len(backup)
    assert runtime.vault.active_kek_since() > made
    [asked, done] = events(runtime, action=AuditAction.KEYS_ROTATE)
    assert (asked.outcome, done.outcome, done.reason) == (Outcome.PERMIT, Outcome.PERMIT, "completed")
    assert done.detail["why"] == "backup_grace" and done.detail["destroyed"] == [backup[0].kek_id]

    # The backup taken 29 days ago opens nothing: its KEK is gone from the key folder.
    with pytest.raises(VaultError, match="not in the key folder"):
        runtime.vault._ring.load(backup[0].kek_id)
    # The files themselves are as readable as before, under the new KEK.
    manager = token(runtime, demo.staff["client_manager"])
    answer = http.get(f"/v1/clients/{demo.clients[0]}/entries", headers=auth(manager, "housing"))
    assert answer.status_code == 200 and answer.json()

    clock.advance(DAY)  # the next day: the new KEK is a day old, nothing to do
    assert run_job(runtime, KEK_ROTATION, manual=False).outcome == IDLE


def test_a_missed_run_replaces_the_key_on_the_next(runtime, clock):
    made = runtime.vault.active_kek_since()
    clock.advance(45 * DAY)  # the scheduler was down past the term: the first run replaces it
    assert run_job(runtime, KEK_ROTATION, manual=False).counts["rotated"] == 1
    assert runtime.vault.active_kek_since() == clock().replace(microsecond=0)
    assert runtime.vault.active_kek_since() > made
