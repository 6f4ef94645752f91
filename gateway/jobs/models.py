"""The lease of each scheduled job: who runs it now, until when, and how its last run went."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from audit.types import UTCDateTime
from gateway.db import Base


class JobLease(Base):
    """One row per job, created by its first run.

    ``holder`` and ``held_until`` are set while an instance runs the job (``held_until`` bounds how
    long a crashed holder blocks the others); ``last_*`` say when the last run started and finished
    and its outcome (``done``, ``idle``, ``error``). No personal data: names of jobs and instances.
    """

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
