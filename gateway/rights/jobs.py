"""The rights requests' scheduled job: each morning, remind before deadlines and escalate after them.

Daily at 07:00 in the covenant's time zone, before the working day, so that a reminder is read the
day it is for. The same pass is ``gateway deadlines`` (:func:`deadlines_job` with ``--today``); both
take this job's lease, so the scheduler on several instances and an operator's run never plan at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import partial

from gateway.jobs.job import Job
from gateway.rights.deadlines import run_pass

DEADLINES = Job(name="request.deadlines", description="remind client managers before a request's deadline; "
                                                      "escalate to the privacy officers when it has passed; "
                                                      "tell of clients' retention terms ending",
                work=run_pass, cron="0 7 * * *", lease=dt.timedelta(minutes=30))


def deadlines_job(today: dt.date | None = None) -> Job:
    """The job, as of ``today`` when given (``gateway deadlines --today``), under the same lease."""
    return DEADLINES if today is None else replace(DEADLINES, work=partial(run_pass, today=today))
