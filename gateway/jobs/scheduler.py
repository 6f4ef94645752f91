"""The scheduler each ``gateway serve`` runs: APScheduler 3's ``BackgroundScheduler``, one thread.

Every job is registered with its constant id (its name), ``coalesce`` (runs missed while the
process was busy or asleep make one run, not a burst) and at most one instance at a time in this
process; across processes the lease decides (:mod:`gateway.jobs`). The scheduler calls
:func:`gateway.jobs.service.run_scheduled`, which never raises: a failing job is logged and recorded,
and its next run comes as planned. Cron schedules are read in the covenant's time zone
(``GATEWAY_TIMEZONE``). The scheduler's own clock is the system's; the lease and the trail use the
runtime's clock.
"""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from gateway.jobs.job import Job
from gateway.jobs.registry import JOBS
from gateway.jobs.service import run_scheduled
from gateway.runtime import Runtime


def build_scheduler(runtime: Runtime, jobs: tuple[Job, ...] = JOBS) -> BackgroundScheduler:
    """A scheduler with ``jobs`` registered, not started."""
    zone = runtime.settings.zone
    scheduler = BackgroundScheduler(timezone=zone, job_defaults={"coalesce": True, "max_instances": 1,
                                                                 "misfire_grace_time": 60})
    for job in jobs:
        scheduler.add_job(run_scheduled, trigger=job.trigger(zone), args=(runtime, job.name, jobs), id=job.name,
                          name=job.name, replace_existing=True)
    return scheduler


def start_scheduler(runtime: Runtime, jobs: tuple[Job, ...] = JOBS) -> BackgroundScheduler:
    scheduler = build_scheduler(runtime, jobs)
    scheduler.start()
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    """Stop firing, and wait for a run in progress to finish (its lease is then given back)."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
