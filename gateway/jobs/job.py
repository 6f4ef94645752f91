"""What a scheduled job is: a name, a schedule, and the work (a function of the runtime and a unit of work)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.transaction import Transaction

Counts = Mapping[str, int]
_NAME = re.compile(r"^[a-z][a-z_]*(\.[a-z_]+)*$")


@dataclass(frozen=True, slots=True)
class Job:
    """A job the scheduler runs on every instance and the lease lets happen on one.

    ``work(runtime, tx)`` does the job and returns counts of what it did (all zero, or empty: it found
    nothing to do). It may queue changes and events on ``tx``; the runner commits them with the run's
    own event. ``every`` (an interval) or ``cron`` (a crontab line, in the covenant's time zone) says
    when. ``lease`` is how long a run may take before another instance may presume its holder dead.

    ``survey(runtime)``, when given, says beforehand what there is to do; the run's event is then
    committed *before* the work, not after it. Sealing needs that: the checkpoint it signs then
    covers its own event, and the next run finds nothing new.
    """

    name: str
    description: str
    work: Callable[["Runtime", "Transaction"], Counts]
    every: dt.timedelta | None = None
    cron: str | None = None
    lease: dt.timedelta = dt.timedelta(minutes=15)
    survey: Callable[["Runtime"], Counts] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or len(self.name) > 100:
            raise ValueError(f"a job's name is lower-case words joined by dots: {self.name!r}")
        if (self.every is None) == (self.cron is None):
            raise ValueError(f"job {self.name}: give either every or cron")
        if self.every is not None and self.every <= dt.timedelta(0):
            raise ValueError(f"job {self.name}: the interval must be positive")
        if self.cron is not None:
            CronTrigger.from_crontab(self.cron)  # refuses a malformed line now, not at start-up

    def trigger(self, zone: ZoneInfo) -> BaseTrigger:
        if self.every is not None:
            return IntervalTrigger(seconds=self.every.total_seconds(), timezone=zone)
        return CronTrigger.from_crontab(self.cron, timezone=zone)

    @property
    def schedule(self) -> str:
        """The schedule as an operator reads it: ``every 1 minute``, ``cron 0 3 * * *``."""
        if self.cron is not None:
            return f"cron {self.cron}"
        seconds = int(self.every.total_seconds())
        for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)):
            if seconds % size == 0:
                count = seconds // size
                return f"every {count} {unit}{'' if count == 1 else 's'}"
        raise AssertionError("unreachable")

    def spacing(self, zone: ZoneInfo) -> dt.timedelta:
        """Half the time between two scheduled runs: a scheduled run that would start sooner after the
        last start (on any instance) is not due, so N instances make one run per period."""
        if self.every is not None:
            return self.every / 2
        trigger = self.trigger(zone)
        first = trigger.get_next_fire_time(None, dt.datetime.now(zone))
        second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
        return (second - first) / 2
