"""Durable audit appends with group commit.

A request's unit of work (the data it changes, if any, and its audit events) is committed in one
database transaction, and the request is answered only after that commit: nothing is returned or
changed without its event (fail closed). Committing one transaction per request caps throughput at
the disk's fsync rate, so units share transactions: one writer thread takes everything queued since
its last commit and commits it together, each unit in its own savepoint so that one failing write
does not undo the others (group commit).

Callers wait on a future: a thread blocks on it (:meth:`GroupCommitter.commit`), a coroutine awaits
it (:meth:`GroupCommitter.commit_async`) without occupying a worker thread.

Appends are serialised across processes by a lock held for the committing transaction (SQLite's
write lock, taken by ``BEGIN IMMEDIATE``; a PostgreSQL advisory transaction lock), so several gateway
instances, and the CLI beside a running gateway, can append to one trail. On PostgreSQL the chain
head (last position and hash) is read under that lock for every commit. On SQLite, where one process
usually writes, it is kept in memory between commits: when another process has appended since, the
next position is taken and the insert fails on the primary key; the writer then reads the head afresh
and commits the batch again.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

import structlog
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from audit.chain import GENESIS, link
from audit.events import EventDraft, SealedEvent, failed
from audit.models import AuditEvent

log = structlog.get_logger(__name__)

# An arbitrary, fixed key for pg_advisory_xact_lock: "audit" in ASCII.
_PG_CHAIN_LOCK = 0x6175646974
_DRAFT_FIELDS = tuple(f.name for f in fields(EventDraft))
# Built once: constructing a statement costs more than running it on this path.
_HEAD = select(AuditEvent.__table__.c.seq, AuditEvent.__table__.c.hash).order_by(
    AuditEvent.__table__.c.seq.desc()).limit(1)
_APPEND = insert(AuditEvent.__table__)
_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_PG_CHAIN_LOCK)


class AuditUnavailable(RuntimeError):
    """The trail could not be written; whatever the unit of work did was not committed."""


class _StaleHead(Exception):
    """Another process appended to the trail since this writer last did."""


@dataclass(slots=True)
class UnitOfWork:
    """Audit events and, optionally, the change they describe.

    ``apply`` runs inside the committing transaction (in its own savepoint) and may raise to refuse
    the change; its events are then recorded with outcome ``error`` instead.
    """

    events: Sequence[EventDraft]
    apply: Callable[[Connection], Any] | None = None


@dataclass(slots=True)
class Committed:
    result: Any
    sealed: list[SealedEvent]


class GroupCommitter:
    """Commits units of work, several per transaction, in the order they arrive, on one thread."""

    def __init__(self, engine: Engine, *, max_batch: int = 256) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._postgres = engine.dialect.name == "postgresql"
        self._cond = threading.Condition()
        self._queue: deque[tuple[UnitOfWork, Future]] = deque()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._head: tuple[int, bytes] | None = None  # touched by the writer thread only

    def submit(self, work: UnitOfWork) -> Future:
        """Queue ``work``; the future resolves to :class:`Committed` once it is durable.

        It fails with what ``apply`` raised (the unit's events are then committed as errors), or
        with :class:`AuditUnavailable` when the transaction itself failed (nothing was committed).
        """
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise AuditUnavailable("the audit writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._write, name="audit-writer", daemon=True)
                self._thread.start()
            self._queue.append((work, future))
            self._cond.notify()
        return future

    def commit(self, work: UnitOfWork) -> Committed:
        """Commit ``work`` durably; blocks the calling thread until then."""
        return self.submit(work).result()

    async def commit_async(self, work: UnitOfWork) -> Committed:
        """Commit ``work`` durably; the coroutine waits, no worker thread does.

        Shielded: a caller that goes away (a client that disconnects) does not take its unit out
        of the trail; what was attempted is recorded all the same.
        """
        return await asyncio.shield(asyncio.wrap_future(self.submit(work)))

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _write(self) -> None:
        batch: list[tuple[UnitOfWork, Future]] = []
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closed:
                        self._cond.wait()
                    if not self._queue:
                        return
                    batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
                self._run(batch)
                batch = []
        finally:
            # Should the writer ever die, nobody may wait on it for ever: fail what it held and what is
            # queued, and refuse what comes (fail closed).
            with self._cond:
                self._closed = True
                stranded = batch + list(self._queue)
                self._queue.clear()
            for _, future in stranded:
                _settle(future, error=AuditUnavailable("the audit writer stopped"))

    def _run(self, batch: list[tuple[UnitOfWork, Future]]) -> None:
        try:
            try:
                outcomes = self._attempt(batch)
            except _StaleHead:
                self._head = None
                outcomes = self._attempt(batch)
        except Exception as exc:
            self._head = None
            if len(batch) > 1:
                # One unit may be what failed (an event that cannot be stored); commit them one by one
                # so that the others are not refused with it.
                for unit in batch:
                    self._run([unit])
                return
            log.error("audit_commit_failed", error=type(exc).__name__)
            failure = AuditUnavailable("the audit trail could not be written")
            failure.__cause__ = exc
            _settle(batch[0][1], error=failure)
            return
        for future, result, error, sealed in outcomes:
            _settle(future, result=Committed(result, sealed), error=error)

    def _attempt(self, batch: list[tuple[UnitOfWork, Future]]):
        """Commit the batch in one transaction; raises :class:`_StaleHead` if the head moved meanwhile."""
        outcomes = []
        with self._engine.connect() as conn, conn.begin():
            if self._postgres:
                conn.execute(_LOCK)
                # Several instances append on PostgreSQL: under the lock, the head is one key look-up
                # away, which is cheaper than a stale head's failed insert and second attempt.
                self._head = None
            if self._head is None:
                row = conn.execute(_HEAD).first()
                self._head = (row.seq, row.hash) if row else (0, GENESIS)
            seq, prev = self._head
            rows = []
            for work, future in batch:
                events, result, error, sealed = work.events, None, None, []
                if work.apply is not None:
                    try:
                        with conn.begin_nested():
                            result = work.apply(conn)
                    except Exception as exc:  # the unit's own refusal or constraint: record it, carry on
                        error = exc
                        events = failed(events, "write_failed")
                for event in events:
                    seq += 1
                    values = {name: getattr(event, name) for name in _DRAFT_FIELDS}
                    values["seq"] = seq
                    values["prev_hash"] = prev
                    prev = link(prev, values)
                    values["hash"] = prev
                    rows.append(values)
                    sealed.append(SealedEvent(seq=seq, id=event.id, hash=prev))
                outcomes.append((future, result, error, sealed))
            if rows:
                try:
                    conn.execute(_APPEND, rows)
                except IntegrityError as exc:
                    raise _StaleHead() from exc
        self._head = (seq, prev)
        return outcomes


def _settle(future: Future, *, result: Any = None, error: BaseException | None = None) -> None:
    """Resolve a caller's future; one that was cancelled meanwhile must not stop the writer."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass
