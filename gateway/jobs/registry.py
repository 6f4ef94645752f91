"""Every scheduled job, in one place: what the scheduler registers and ``gateway jobs`` knows.

A domain defines its jobs in its own ``jobs.py`` (or beside its service) and adds them here.
"""

from __future__ import annotations

from gateway.auditlog.jobs import SEAL
from gateway.idempotency import PURGE
from gateway.jobs.job import Job
from gateway.retention.jobs import KEK_ROTATION
from gateway.retention.jobs import PURGE as RETENTION_PURGE
from gateway.rights.jobs import DEADLINES

JOBS: tuple[Job, ...] = (SEAL, PURGE, DEADLINES, RETENTION_PURGE, KEK_ROTATION)


def get_job(name: str) -> Job | None:
    return next((job for job in JOBS if job.name == name), None)


def job_names() -> list[str]:
    return [job.name for job in JOBS]
