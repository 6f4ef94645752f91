"""The retention purge's scheduled job: each night, destroy the clients whose term has ended; and the job
that keeps key-store backups from outliving the covenant's grace period.

Daily at 02:30 in the covenant's time zone, when the gateway is quiet. The same run is ``gateway purge``
(:func:`purge_job` with ``--today`` and ``--dry-run``); both take this job's lease, so the scheduler on
several instances and an operator's run never purge at once. The job's lease (two hours) bounds how
long a killed run blocks the next; the next run then finishes what the killed one began.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Callable

from audit import AuditAction, Outcome
from covenant import Action, Resource
from gateway.jobs.job import Counts, Job
from gateway.retention.service import ADMINISTRATION, PurgeReport, run_purge

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.transaction import Transaction


def _nightly(runtime: "Runtime", tx: "Transaction") -> Counts:
    return run_purge(runtime, tx).counts()


PURGE = Job(name="retention.purge", description="destroy every client whose retention term has ended "
                                                "(art. 9.3), their data keys first; held clients are kept",
            work=_nightly, cron="30 2 * * *", lease=dt.timedelta(hours=2))


def purge_job(*, today: dt.date | None = None, dry_run: bool = False, batch_size: int = 500,
              sink: Callable[[PurgeReport], None] | None = None) -> Job:
    """The job as ``gateway purge`` runs it, under the same lease; ``sink`` receives the report."""

    def work(runtime: "Runtime", tx: "Transaction") -> Counts:
        report = run_purge(runtime, tx, today=today, dry_run=dry_run, batch_size=batch_size)
        if sink is not None:
            sink(report)
        return report.counts()

    return Job(name=PURGE.name, description=PURGE.description, work=work, cron=PURGE.cron, lease=PURGE.lease)


def kek_rotation_due(runtime: "Runtime", today: dt.date) -> bool:
    """Whether the active key-encryption key must be replaced on ``today``'s run: on the last daily run
    before it is ``[retention] backup_grace`` old (the day before it would be), or later if runs were missed.

    A backup of the key store holds data keys wrapped by the key-encryption key active when it was taken;
    once that key is destroyed the backup opens nothing. Replacing it before it is ``backup_grace`` old
    therefore makes every key-store backup useless within ``backup_grace`` of being taken, and with it the
    files destroyed since (crypto-shredding, art. 9), provided backups of the key folder expire within the
    same term (README, "Backups and crypto-shredding").
    """
    since = runtime.vault.active_kek_since()
    if since is None:
        return False
    made_on = since.astimezone(runtime.settings.zone).date()
    return today >= runtime.covenant.retention.backup_grace.after(made_on) - dt.timedelta(days=1)


def _rotate_within_backup_grace(runtime: "Runtime", tx: "Transaction") -> Counts:
    if not kek_rotation_due(runtime, tx.now.astimezone(runtime.settings.zone).date()):
        return {"rotated": 0}
    decision = tx.authorize(Action.KEYS_ROTATE, Resource(), purpose=ADMINISTRATION,
                            audit_action=AuditAction.KEYS_ROTATE, detail={"why": "backup_grace"})
    if not decision.allowed:
        raise tx.refuse(decision)
    report = runtime.vault.rotate_kek(tx.now)
    tx.record(AuditAction.KEYS_ROTATE, outcome=Outcome.PERMIT, reason="completed", purpose=ADMINISTRATION,
              authority=decision.authority, object_type="kek", object_id=report.new_kek,
              detail={"rewrapped": report.rewrapped, "destroyed": report.destroyed, "why": "backup_grace"})
    return {"rotated": 1, "rewrapped": report.rewrapped}


KEK_ROTATION = Job(name="keys.rotate", description="replace the key-encryption key before it is [retention] "
                                                   "backup_grace old, so no key-store backup outlives the term",
                   work=_rotate_within_backup_grace, cron="15 3 * * *", lease=dt.timedelta(hours=1))
