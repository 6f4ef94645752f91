"""Sealing: sign a checkpoint over the events appended since the last one; proofs from the database.

Sealing is apart from appending. An append (:mod:`audit.writer`) stays what it was: one row, one
hash, no tree. :func:`seal` runs on its own schedule (a job, the CLI): it reads the events after the
last checkpoint on a read-only connection, checks that they link to the sealed trail, appends their
chain hashes to the tree's frontier, and inserts one signed ``audit_checkpoint`` row in a short
transaction of its own. It takes no lock an append waits for: on PostgreSQL a lock of its own (so
two sealers do not race), on SQLite the write lock for the one insert only.

A crash between an append and a seal loses nothing: the events are in the trail, and the next seal
starts from the last checkpoint, so it covers them. The events visible to a reader are always a
prefix of the trail (positions are taken under the append lock and committed in order), and seal
stops at the first gap should that ever not hold.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from audit import merkle
from audit.chain import GENESIS, link
from audit.checkpoint import Checkpoint, ConsistencyProof, InclusionProof, key_id
from audit.models import AuditCheckpoint, AuditEvent

_EVENTS = AuditEvent.__table__
_CHECKPOINTS = AuditCheckpoint.__table__
_PAGE = (select(*_EVENTS.columns).where(_EVENTS.c.seq > bindparam("after")).order_by(_EVENTS.c.seq)
         .limit(bindparam("limit")))
_LATEST = select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.tree_size.desc()).limit(1)
# An arbitrary, fixed key for pg_advisory_xact_lock, apart from the append lock: "seal" in ASCII.
_PG_SEAL_LOCK = 0x7365616C


class SealRefused(RuntimeError):
    """The events after the last checkpoint do not fit the sealed trail; nothing was signed."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"event {seq}: {problem}")
        self.seq = seq
        self.problem = problem


class NotSealed(LookupError):
    """The event is in the trail but no checkpoint covers it yet."""


def _checkpoint(row) -> Checkpoint:
    return Checkpoint(tree_size=row.tree_size, root_hash=row.root_hash, sealed_at=row.sealed_at,
                      key_id=row.key_id, signature=row.signature)


def checkpoints(conn: Connection) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first."""
    return [_checkpoint(row) for row in conn.execute(select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.tree_size))]


def latest_checkpoint(conn: Connection) -> Checkpoint | None:
    row = conn.execute(_LATEST).first()
    return _checkpoint(row) if row else None


def unsealed(conn: Connection) -> int:
    """How many events were appended after the last checkpoint (two key look-ups, no scan)."""
    head = conn.execute(select(_EVENTS.c.seq).order_by(_EVENTS.c.seq.desc()).limit(1)).scalar() or 0
    sealed = conn.execute(select(_CHECKPOINTS.c.tree_size).order_by(_CHECKPOINTS.c.tree_size.desc())
                          .limit(1)).scalar() or 0
    return max(head - sealed, 0)


def checkpoint_of_size(conn: Connection, tree_size: int) -> Checkpoint | None:
    """The stored checkpoint over the first ``tree_size`` events, if there is one."""
    row = conn.execute(select(_CHECKPOINTS).where(_CHECKPOINTS.c.tree_size == tree_size)).first()
    return _checkpoint(row) if row else None


def _start(conn: Connection, private_key: Ed25519PrivateKey) -> tuple[merkle.Frontier, bytes]:
    """The last checkpoint's frontier and the chain hash of its last event, both checked."""
    row = conn.execute(_LATEST).first()
    if row is None:
        return merkle.Frontier(), GENESIS
    own = {key_id(private_key.public_key()): private_key.public_key()}
    checkpoint = _checkpoint(row)
    frontier = merkle.Frontier.from_json(row.tree_size, row.frontier)
    # A frontier that does not give the signed root is not extended. (A checkpoint by an earlier key,
    # after a rotation, is left to verify, which knows every key.)
    if frontier.root() != checkpoint.root_hash or (checkpoint.key_id in own and not checkpoint.verifies(own)):
        raise SealRefused(row.tree_size, "the last checkpoint does not verify; run gateway audit verify")
    head = conn.execute(select(_EVENTS.c.hash).where(_EVENTS.c.seq == row.tree_size)).scalar()
    if head is None:
        raise SealRefused(row.tree_size, "a sealed event is missing")
    return frontier, head


def seal(reader: Engine, writer: Engine, private_key: Ed25519PrivateKey, *, now: dt.datetime,
         batch: int = 10_000) -> Checkpoint | None:
    """Sign a checkpoint over every event appended since the last one; ``None`` when there are none."""
    with reader.connect() as conn:
        frontier, prev = _start(conn, private_key)
        start = frontier.size
        after = start
        while True:
            rows = conn.execute(_PAGE, {"after": after, "limit": batch}).mappings().all()
            for row in rows:
                seq = row["seq"]
                if seq != frontier.size + 1:
                    break
                if row["prev_hash"] != prev or link(prev, row) != row["hash"]:
                    raise SealRefused(seq, "does not fit the trail before it; run gateway audit verify")
                frontier.append(row["hash"])
                prev = row["hash"]
            else:
                if len(rows) == batch:
                    after = rows[-1]["seq"]
                    continue
            break
    if frontier.size == start:
        return None
    checkpoint = Checkpoint.sign(private_key, tree_size=frontier.size, root_hash=frontier.root(), sealed_at=now)
    with writer.connect() as conn, conn.begin():
        if writer.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_SEAL_LOCK})
        latest = conn.execute(select(_CHECKPOINTS.c.tree_size).order_by(_CHECKPOINTS.c.tree_size.desc())
                              .limit(1)).scalar()
        if (latest or 0) != start:
            return None  # another sealer was quicker; its checkpoint covers these events or more
        try:
            conn.execute(insert(_CHECKPOINTS).values(
                tree_size=checkpoint.tree_size, root_hash=checkpoint.root_hash, sealed_at=checkpoint.sealed_at,
                key_id=checkpoint.key_id, signature=checkpoint.signature, frontier=frontier.as_json()))
        except IntegrityError:
            return None
    return checkpoint


def _leaves(conn: Connection, size: int) -> list[bytes]:
    """The chain hashes of the first ``size`` events (32 bytes each: a million events is 32 MB)."""
    hashes = list(conn.execute(select(_EVENTS.c.hash).where(_EVENTS.c.seq <= size).order_by(_EVENTS.c.seq))
                  .scalars())
    if len(hashes) != size:
        raise SealRefused(len(hashes) + 1, "a sealed event is missing")
    return hashes


def prove(conn: Connection, event_id: uuid.UUID, *, checkpoint: Checkpoint | None = None) -> InclusionProof | None:
    """The inclusion proof of one event in ``checkpoint`` (default: the latest); ``None`` for no such event.

    Raises :class:`NotSealed` when no checkpoint covers the event yet.
    """
    event = conn.execute(select(_EVENTS.c.seq, _EVENTS.c.hash, _EVENTS.c.prev_hash)
                         .where(_EVENTS.c.id == event_id)).first()
    if event is None:
        return None
    checkpoint = checkpoint or latest_checkpoint(conn)
    if checkpoint is None or checkpoint.tree_size < event.seq:
        raise NotSealed(str(event_id))
    path = merkle.inclusion_proof(_leaves(conn, checkpoint.tree_size), event.seq - 1)
    return InclusionProof(event_id=str(event_id), seq=event.seq, event_hash=event.hash, prev_hash=event.prev_hash,
                          audit_path=tuple(path), checkpoint=checkpoint)


def consistency(conn: Connection, old: Checkpoint, new: Checkpoint) -> list[bytes]:
    """The consistency proof that ``new`` extends ``old`` (RFC 9162 section 2.1.4), from the stored trail."""
    if old.tree_size == new.tree_size:
        return []
    return merkle.consistency_proof(_leaves(conn, new.tree_size), old.tree_size)


def prove_consistency(conn: Connection, first_size: int, second_size: int, *,
                      batch: int = 10_000) -> ConsistencyProof | None:
    """The consistency proof between the stored checkpoints of ``first_size`` and ``second_size`` events
    (``first_size <= second_size``); ``None`` when either is not the size of a stored checkpoint.

    Built as sealing builds on: from the first checkpoint's stored frontier (used only if it gives that
    checkpoint's signed root) and the chain hashes of the events after it, streamed in pages
    (:func:`audit.merkle.consistency_proof_after`), so it reads ``second_size - first_size`` events,
    not the whole trail (:func:`consistency` does). Events after the first checkpoint changed since
    the second was signed make a proof that does not verify; a change to events before it is not this
    proof's to show (the signed checkpoints are consistent), it is ``verify``'s and an inclusion proof's.
    """
    if not 0 < first_size <= second_size:
        raise ValueError("the first checkpoint's size is at least 1 and at most the second's")
    rows = {row.tree_size: row for row in conn.execute(
        select(_CHECKPOINTS).where(_CHECKPOINTS.c.tree_size.in_({first_size, second_size})))}
    if first_size not in rows or second_size not in rows:
        return None
    first, second = _checkpoint(rows[first_size]), _checkpoint(rows[second_size])
    frontier = merkle.Frontier.from_json(first.tree_size, rows[first_size].frontier)
    if frontier.root() != first.root_hash:
        raise SealRefused(first.tree_size, "the checkpoint's stored frontier does not give its signed root")
    try:
        proof = merkle.consistency_proof_after(frontier, second.tree_size,
                                               _hashes(conn, first.tree_size, second.tree_size, batch))
    except ValueError:
        raise SealRefused(first.tree_size + 1, "an event the later checkpoint sealed is missing") from None
    return ConsistencyProof(first=first, second=second, proof=tuple(proof))


def _hashes(conn: Connection, after: int, upto: int, batch: int) -> Iterator[bytes]:
    """The chain hashes of events ``after + 1`` to ``upto``, in pages of positions; stops at a gap
    (positions are unique, so a page holds every position of its span or has a gap)."""
    start = after + 1
    while start <= upto:
        stop = min(upto, start + batch - 1)
        page = conn.execute(select(_EVENTS.c.hash).where(_EVENTS.c.seq >= start, _EVENTS.c.seq <= stop)
                            .order_by(_EVENTS.c.seq)).scalars().all()
        if len(page) != stop - start + 1:
            return
        yield from page
        start = stop + 1
