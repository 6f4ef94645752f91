"""Verify the trail: every event in place, unchanged, linked to the one before it, and, given signed
checkpoints, the trail's Merkle root at each checkpoint the one that was signed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, select

from audit import merkle
from audit.chain import GENESIS, link
from audit.checkpoint import Checkpoint
from audit.models import AuditEvent

_TABLE = AuditEvent.__table__
_PAGE = (select(*_TABLE.columns).where(_TABLE.c.seq > bindparam("after")).order_by(_TABLE.c.seq)
         .limit(bindparam("limit")))


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    checkpoints: int = 0
    first_bad_checkpoint: int | None = None
    # The hash of the last event verified (``events``), from which a later check may go on.
    last_hash: bytes = GENESIS

    def describe(self) -> str:
        sealed = f", {self.checkpoints} checkpoints matched" if self.checkpoints else ""
        if self.ok:
            return f"audit trail intact: {self.events} events verified{sealed}"
        if self.first_bad_seq is None:
            return (f"audit trail broken at checkpoint {self.first_bad_checkpoint}: {self.problem} "
                    f"({self.events} events verified{sealed})")
        where = f"event {self.first_bad_seq}"
        if self.first_bad_checkpoint is not None:
            where += f" (checkpoint {self.first_bad_checkpoint})"
        return f"audit trail broken at {where}: {self.problem} ({self.events} events before it verified{sealed})"


@dataclass(frozen=True, slots=True)
class Sealed:
    """A checkpoint to hold the trail against, and where it comes from (``stored``, a witness's file)."""

    checkpoint: Checkpoint
    origin: str = "stored"
    keys: Mapping[str, Ed25519PublicKey] | None = None  # the keys it verifies with, if not the common ones


def verify_chain(conn: Connection, *, batch: int = 10_000, resume: VerifyReport | None = None) -> VerifyReport:
    """Recompute the chain from the first event; report the first event that does not fit.

    ``resume`` (an intact report of an earlier run) goes on after the events that run verified,
    trusting them: cheap enough for every page view, but blind to changes made to those events
    since; a full run from the first event is still needed now and then.

    Detects a changed event (its hash no longer matches its content), a deleted one (a gap in
    ``seq``), an inserted or reordered one (its ``prev_hash`` is not its predecessor's hash).
    Truncation of the newest events, and a trail rewritten with its chain recomputed, need the
    signed checkpoints: :func:`verify_sealed`.
    """
    return verify_sealed(conn, (), {}, batch=batch, resume=resume)


def verify_sealed(conn: Connection, sealed: Sequence[Sealed | Checkpoint], keys: Mapping[str, Ed25519PublicKey], *,
                  batch: int = 10_000, resume: VerifyReport | None = None) -> VerifyReport:
    """:func:`verify_chain`, and at each checkpoint's size, its signature (by one of ``keys``) and root.

    A consistently rewritten trail (changed, its chain recomputed) links and hashes well, but its root
    at the first checkpoint after the change is not the signed one: the report names that checkpoint,
    and the changed event lies after the checkpoint before it. A truncated trail is shorter than a
    checkpoint: the first missing event is named.
    """
    pending = sorted((item if isinstance(item, Sealed) else Sealed(item) for item in sealed),
                     key=lambda item: item.checkpoint.tree_size)
    frontier = merkle.Frontier()
    matched = 0
    last_good = 0

    def at_checkpoints() -> VerifyReport | None:
        nonlocal matched, last_good
        while pending and pending[0].checkpoint.tree_size == frontier.size:
            item = pending.pop(0)
            checkpoint = item.checkpoint
            if not checkpoint.verifies(keys if item.keys is None else item.keys):
                return VerifyReport(False, frontier.size, None, f"the {item.origin} checkpoint's signature does "
                                    f"not verify (key {checkpoint.key_id})", matched, checkpoint.tree_size)
            if frontier.root() != checkpoint.root_hash:
                return VerifyReport(False, frontier.size, None,
                                    f"the trail's root differs from the {item.origin} signed checkpoint: an event "
                                    f"between {last_good + 1} and {checkpoint.tree_size} was changed, inserted, "
                                    f"removed or reordered and the chain recomputed", matched, checkpoint.tree_size)
            matched += 1
            last_good = checkpoint.tree_size
        return None

    expected_seq = 1
    prev = GENESIS
    after = 0
    if resume is not None and resume.ok:
        if pending:
            raise ValueError("a check against checkpoints rebuilds the tree from the first event: no resume")
        expected_seq, prev, after = resume.events + 1, resume.last_hash, resume.events
    while True:
        if (problem := at_checkpoints()) is not None:
            return problem
        # Keyset pages rather than one long cursor: no transaction held open over a trail of millions.
        rows = conn.execute(_PAGE, {"after": after, "limit": batch}).mappings().all()
        for row in rows:
            seq = row["seq"]
            if seq != expected_seq:
                missing = "missing" if seq > expected_seq else "out of order"
                return VerifyReport(False, expected_seq - 1, expected_seq, f"event {expected_seq} is {missing}",
                                    matched, _covering(pending, expected_seq))
            if row["prev_hash"] != prev:
                return VerifyReport(False, seq - 1, seq, "does not link to the event before it", matched,
                                    _covering(pending, seq))
            recomputed = link(prev, row)
            if recomputed != row["hash"]:
                return VerifyReport(False, seq - 1, seq, "content does not match its hash", matched,
                                    _covering(pending, seq))
            prev = recomputed
            frontier.append(recomputed)
            expected_seq += 1
            if (problem := at_checkpoints()) is not None:
                return problem
        if len(rows) < batch:
            break
        after = rows[-1]["seq"]
    if pending:
        item = pending[0]
        return VerifyReport(False, expected_seq - 1, expected_seq,
                            f"missing: the {item.origin} checkpoint {item.checkpoint.tree_size} covers "
                            f"{item.checkpoint.tree_size} events, the trail has {expected_seq - 1}",
                            matched, item.checkpoint.tree_size)
    return VerifyReport(True, expected_seq - 1, checkpoints=matched, last_hash=prev)


def _covering(pending: Sequence[Sealed], seq: int) -> int | None:
    """The first checkpoint that sealed event ``seq``, if any: the event was changed after sealing."""
    return next((item.checkpoint.tree_size for item in pending if item.checkpoint.tree_size >= seq), None)
