"""The retention purge's scheduled job: each night, destroy the clients whose term has ended.

Daily at 02:30 in the covenant's time zone, when the gateway is quiet. The same run is ``gateway purge``
(:func:`purge_job` with ``--today`` and ``--dry-run``); both take this job's lease, so the scheduler on
several instances and an operator's run never purge at once. The job's lease (two hours) bounds how
long a killed run blocks the next; the next run then finishes what the killed one began.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Callable

from gateway.jobs.job import Counts, Job
from gateway.retention.service import PurgeReport, run_purge

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
