"""Running a job once: decided, leased, done, recorded. Used by the scheduler and ``gateway jobs``.

See the package's docstring for the rules; :func:`run_job` is them in order.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any, Callable

import structlog
from sqlalchemy import Connection

from audit import AuditAction, Outcome, UnitOfWork
from covenant import Action, Resource
from gateway.errors import NotFound
from gateway.jobs import lease
from gateway.jobs.job import Job
from gateway.jobs.registry import JOBS, get_job
from gateway.runtime import Runtime
from gateway.transaction import Actor, Transaction

log = structlog.get_logger(__name__)

ADMINISTRATION = "covenant_administration"
SCHEDULER = "gateway-scheduler"
CLI = "gateway-cli"

DONE, IDLE, ERROR, HELD = "done", "idle", "error", "held"


@dataclass(frozen=True, slots=True)
class JobRun:
    """What one attempt to run a job came to: ``done``, ``idle`` (nothing to do), ``error``, or
    ``held`` (another instance holds the lease, or a scheduled run was not due)."""

    job: str
    outcome: str
    counts: dict[str, int] = field(default_factory=dict)


def _holder() -> str:
    """This run, as the lease names it: the host and process, and a token of the run itself."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


def _apply(runtime: Runtime, change: Callable[[Connection], Any]) -> Any:
    """A change of the lease on its own, through the one writer (no event: the run records its own)."""
    return runtime.committer.commit(UnitOfWork(events=[], apply=change)).result


def find_job(name: str) -> Job:
    job = get_job(name)
    if job is None:
        raise NotFound(f"no job {name!r}; gateway jobs list names them")
    return job


def run_job(runtime: Runtime, job: Job, *, manual: bool) -> JobRun:
    """Run ``job`` once, if the covenant allows it and this instance gets its lease.

    ``manual``: asked for by the operator (``gateway jobs run``): recorded whatever it came to, and
    not held back by the scheduled spacing. A scheduled run records nothing when it was not due, the
    lease was held, or it found nothing to do. A job that raises is logged by the error's type
    (never its message, which may hold data), recorded as ``error``, and its lease given back.
    """
    tx = Transaction(runtime, access_point="cli:jobs run" if manual else f"job:{job.name}",
                     actor=Actor.administrator(CLI if manual else SCHEDULER))
    event = {"purpose": ADMINISTRATION, "object_type": "job", "object_id": job.name}
    decision = tx.decide(Action.JOB_RUN, Resource(), purpose=ADMINISTRATION)
    if not decision.allowed:
        tx.record_decision(AuditAction.JOB_RUN, decision, purpose=ADMINISTRATION, object_type="job",
                           object_id=job.name, detail={"job": job.name, "outcome": "refused"})
        tx.commit()
        raise tx.refuse(decision)
    permitted = {**event, "authority": decision.authority}
    holder, zone = _holder(), runtime.settings.zone
    not_since = None if manual else tx.now - job.spacing(zone)
    if not _apply(runtime, lambda conn: lease.acquire(conn, job.name, holder=holder, now=tx.now,
                                                      until=tx.now + job.lease, not_since=not_since)):
        log.info("job_lease_held", job=job.name)
        if manual:
            tx.record(AuditAction.JOB_RUN, outcome=Outcome.DENY, reason="lease_held", **event,
                      detail={"job": job.name, "outcome": HELD})
            tx.commit()
        return JobRun(job.name, HELD)

    def finish(outcome: str) -> Callable[[Connection], bool]:
        return lambda conn: lease.release(conn, job.name, holder=holder, now=runtime.clock(), outcome=outcome)

    counts: dict[str, int] = {}
    try:
        recorded_first = False
        if job.survey is not None:
            counts = dict(job.survey(runtime))
            if any(counts.values()):
                tx.record(AuditAction.JOB_RUN, outcome=Outcome.PERMIT, reason="started", **permitted,
                          detail={"job": job.name, "outcome": "started", "counts": counts})
                tx.commit()
                recorded_first = True
        if job.survey is None or recorded_first:
            counts = {**counts, **job.work(runtime, tx)}
        outcome = DONE if any(counts.values()) else IDLE
        if not recorded_first and (outcome == DONE or manual):
            tx.record(AuditAction.JOB_RUN, outcome=Outcome.PERMIT, reason="completed", **permitted,
                      detail={"job": job.name, "outcome": outcome, "counts": counts})
        tx.write(finish(outcome))
        if not tx.commit()[-1]:
            log.warning("job_lease_lost", job=job.name)
    except Exception as exc:
        log.error("job_failed", job=job.name, error=type(exc).__name__)
        tx.abandon("job_failed")  # what the work queued is not written; its events are kept as errors
        tx.record(AuditAction.JOB_RUN, outcome=Outcome.ERROR, reason="job_failed", **permitted,
                  detail={"job": job.name, "outcome": ERROR, "error": type(exc).__name__})
        tx.write(finish(ERROR))
        tx.commit()
        return JobRun(job.name, ERROR, counts)
    if outcome == DONE:
        log.info("job_done", job=job.name, counts=counts)
    return JobRun(job.name, outcome, counts)


def run_scheduled(runtime: Runtime, name: str, jobs: tuple[Job, ...] = JOBS) -> JobRun | None:
    """What the scheduler calls: never raises, so that one bad run does not stop the schedule."""
    try:
        job = next(job for job in jobs if job.name == name)
        return run_job(runtime, job, manual=False)
    except Exception as exc:
        log.error("job_not_run", job=name, error=type(exc).__name__)
        return None


def list_jobs(runtime: Runtime) -> list[dict[str, Any]]:
    """Every job with its schedule and what its lease says of its last run (``gateway jobs list``)."""
    tx = Transaction(runtime, access_point="cli:jobs list", actor=Actor.administrator(CLI))
    decision = tx.authorize(Action.JOB_LIST, Resource(), purpose=ADMINISTRATION, audit_action=AuditAction.JOB_LIST,
                            object_type="job", detail={"jobs": len(JOBS)})
    if not decision.allowed:
        tx.abandon("refused")
        raise tx.refuse(decision)
    with runtime.engine.connect() as conn:
        rows = lease.leases(conn)
    tx.commit()
    listed = []
    for job in JOBS:
        row = rows.get(job.name)
        held = row is not None and row.held_until is not None and row.held_until >= tx.now
        listed.append({"name": job.name, "schedule": job.schedule, "description": job.description,
                       "last_started": _iso(row.last_started if row else None),
                       "last_finished": _iso(row.last_finished if row else None),
                       "last_outcome": row.last_outcome if row else None,
                       "held_by": row.holder if held else None, "held_until": _iso(row.held_until) if held else None})
    return listed


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None
