"""Time as a dependency: the gateway asks a clock, so tests can hold time still or move it on."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> dt.datetime: ...


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ControlledClock:
    """A clock that stands still until told to move; for tests and rehearsals of deadlines."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs a zone-aware moment")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs a zone-aware moment")
        with self._lock:
            self._now = moment

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now += delta
            return self._now
