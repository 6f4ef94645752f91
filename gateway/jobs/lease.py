"""Taking and giving back a job's lease, on a connection inside a write transaction.

Portable SQL, atomic on both engines:

* Acquire is one conditional ``UPDATE ... WHERE name = :name AND (held_until IS NULL OR held_until <
  :now)``. On PostgreSQL (read committed) a second instance's ``UPDATE`` of the same row waits for the
  first to commit and then re-checks the condition against the new row, so it updates nothing; on
  SQLite writers are serialised anyway (``BEGIN IMMEDIATE``).
* The first run of a job finds no row to update and inserts one; of two instances inserting at once,
  the primary key lets one win, and the other's ``INSERT`` fails in a savepoint: not acquired.
* Release updates the row only while this holder still holds it: a run that outlived its lease and
  was taken over does not release its successor's lease.

Times come from the caller (the runtime's clock), so tests move them; instances' clocks are assumed
to agree to well within a lease (NTP).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from gateway.jobs.models import JobLease

_LEASE = JobLease.__table__


def acquire(conn: Connection, name: str, *, holder: str, now: dt.datetime, until: dt.datetime,
            not_since: dt.datetime | None = None) -> bool:
    """Take the lease of job ``name`` until ``until``; False when another holds it (or, with
    ``not_since``, when a run started after that moment: a scheduled run that is not due)."""
    free = or_(_LEASE.c.held_until.is_(None), _LEASE.c.held_until < now)
    if not_since is not None:
        free = and_(free, or_(_LEASE.c.last_started.is_(None), _LEASE.c.last_started <= not_since))
    taken = conn.execute(update(_LEASE).where(_LEASE.c.name == name, free)
                         .values(holder=holder, held_until=until, last_started=now)).rowcount
    if taken:
        return True
    if conn.execute(select(_LEASE.c.name).where(_LEASE.c.name == name)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(_LEASE).values(name=name, holder=holder, held_until=until, last_started=now))
    except IntegrityError:
        return False  # another instance inserted it first, and holds it
    return True


def release(conn: Connection, name: str, *, holder: str, now: dt.datetime, outcome: str) -> bool:
    """Give the lease back with the run's outcome; False when ``holder`` no longer held it."""
    return bool(conn.execute(update(_LEASE).where(_LEASE.c.name == name, _LEASE.c.holder == holder)
                             .values(holder=None, held_until=None, last_finished=now, last_outcome=outcome))
                .rowcount)


def leases(conn: Connection) -> dict[str, JobLease]:
    """Every job's lease row, by name (a job that never ran has none)."""
    return {row.name: row for row in conn.execute(select(_LEASE))}
