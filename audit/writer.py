"""Durable audit appends with group commit.

A request's unit of work (the data it changes, if any, and its audit events) is committed in one
database transaction, and the request is answered only after that commit: nothing is returned or
changed without its event (fail closed). Committing one transaction per request caps throughput at
the disk's fsync rate, so concurrent requests share a transaction: the first to arrive becomes the
leader and commits everything queued behind it, each unit of work in its own savepoint so that one
failing write does not undo the others (leader/follower group commit).

The chain position is read inside the committing transaction under a lock that spans processes
(SQLite's write lock, taken by ``BEGIN IMMEDIATE``; a PostgreSQL advisory transaction lock), so
several gateway instances can append to one trail.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Sequence

import structlog
from sqlalchemy import Connection, Engine, insert, select, text

from audit.chain import GENESIS, link
from audit.events import EventDraft, SealedEvent
from audit.models import AuditEvent

log = structlog.get_logger(__name__)

# An arbitrary, fixed key for pg_advisory_xact_lock: "audit" in ASCII.
_PG_CHAIN_LOCK = 0x6175646974
_DRAFT_FIELDS = tuple(f.name for f in fields(EventDraft))


class AuditUnavailable(RuntimeError):
    """The trail could not be written; whatever the unit of work did was not committed."""


@dataclass(slots=True)
class UnitOfWork:
    """Audit events and, optionally, the change they describe.

    ``apply`` runs inside the committing transaction (in its own savepoint) and may raise to refuse
    the change; its events are then recorded with outcome ``error`` instead.
    """

    events: Sequence[EventDraft]
    apply: Callable[[Connection], Any] | None = None


@dataclass(slots=True)
class _Pending:
    work: UnitOfWork
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    sealed: list[SealedEvent] = field(default_factory=list)


@dataclass(slots=True)
class Committed:
    result: Any
    sealed: list[SealedEvent]


class GroupCommitter:
    """Commits units of work, several per transaction, in the order they arrive."""

    def __init__(self, engine: Engine, *, max_batch: int = 256) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False
        self._postgres = engine.dialect.name == "postgresql"

    def commit(self, work: UnitOfWork) -> Committed:
        """Commit ``work`` durably and return what its ``apply`` returned; blocks until then.

        Raises what ``apply`` raised (its events are committed as errors), or
        :class:`AuditUnavailable` when the transaction itself failed (nothing was committed).
        """
        pending = _Pending(work)
        with self._cond:
            self._queue.append(pending)
            while not pending.done:
                if self._leading:
                    self._cond.wait()
                    continue
                self._leading = True
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._leading = False
                    self._cond.notify_all()
        if pending.error is not None:
            raise pending.error
        return Committed(pending.result, pending.sealed)

    def _run(self, batch: list[_Pending]) -> None:
        try:
            with self._engine.connect() as conn, conn.begin():
                if self._postgres:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK})
                head = conn.execute(
                    select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
                ).first()
                seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
                rows = []
                for pending in batch:
                    events = pending.work.events
                    if pending.work.apply is not None:
                        try:
                            with conn.begin_nested():
                                pending.result = pending.work.apply(conn)
                        except Exception as exc:  # the unit's own refusal or constraint: record it, carry on
                            pending.error = exc
                            events = [event.failed("write_failed") for event in events]
                    for event in events:
                        seq += 1
                        values = {name: getattr(event, name) for name in _DRAFT_FIELDS}
                        values["seq"] = seq
                        values["prev_hash"] = prev
                        prev = link(prev, values)
                        values["hash"] = prev
                        rows.append(values)
                        pending.sealed.append(SealedEvent(seq=seq, id=event.id, hash=prev))
                if rows:
                    conn.execute(insert(AuditEvent), rows)
        except Exception as exc:
            log.error("audit_commit_failed", error=type(exc).__name__, units=len(batch))
            failure = AuditUnavailable("the audit trail could not be written")
            failure.__cause__ = exc
            for pending in batch:
                pending.error = failure
                pending.sealed = []
        finally:
            for pending in batch:
                pending.done = True
