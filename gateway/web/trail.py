"""The trail status shown on every page: intact up to event N, or broken at event N.

Verifying the whole trail on each page view would grow with the trail, so the result is kept with
the moment it was made: at most once a minute the check goes on from where it stopped (the new events
only), and every ten minutes it starts again from the first event, so that a change to events already
checked is found too. A broken trail is checked again in full each minute. Each gateway instance keeps
its own status.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from audit import VerifyReport, verify_chain

log = structlog.get_logger(__name__)

REFRESH = dt.timedelta(minutes=1)
FULL = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class TrailCheck:
    report: VerifyReport
    checked_at: dt.datetime
    full_at: dt.datetime


class TrailStatus:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._last: TrailCheck | None = None

    def current(self, now: dt.datetime) -> TrailCheck | None:
        """The latest check, made now if the last is too old; None when the trail cannot be read
        (the page then says the status is unknown, rather than failing, e.g. on an error page)."""
        try:
            return self._current(now)
        except SQLAlchemyError as exc:
            log.warning("trail_status_unavailable", error=type(exc).__name__)
            return None

    def _current(self, now: dt.datetime) -> TrailCheck:
        with self._lock:  # one check at a time; the others wait for its result
            last = self._last
            if last is not None and now - last.checked_at < REFRESH:
                return last
            full = last is None or not last.report.ok or now - last.full_at >= FULL
            with self._engine.connect() as conn:
                report = verify_chain(conn, resume=None if full else last.report)
            self._last = TrailCheck(report=report, checked_at=now, full_at=now if full else last.full_at)
            return self._last
