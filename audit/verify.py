"""Verify the trail: every event in place, unchanged, and linked to the one before it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from audit.chain import GENESIS, link
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
    # The hash of the last event verified (``events``), from which a later check may go on.
    last_hash: bytes = GENESIS

    def describe(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.events} events verified"
        return f"audit trail broken at event {self.first_bad_seq}: {self.problem} ({self.events} events before it verified)"


def verify_chain(conn: Connection, *, batch: int = 10_000, resume: VerifyReport | None = None) -> VerifyReport:
    """Recompute the chain from the first event; report the first event that does not fit.

    ``resume`` (an intact report of an earlier run) goes on after the events that run verified,
    trusting them: cheap enough for every page view, but blind to changes made to those events
    since; a full run from the first event is still needed now and then.

    Detects a changed event (its hash no longer matches its content), a deleted one (a gap in
    ``seq``), an inserted or reordered one (its ``prev_hash`` is not its predecessor's hash).
    Truncation of the newest events needs the signed checkpoints kept outside the database.
    """
    expected_seq = 1
    prev = GENESIS
    after = 0
    if resume is not None and resume.ok:
        expected_seq, prev, after = resume.events + 1, resume.last_hash, resume.events
    while True:
        # Keyset pages rather than one long cursor: no transaction held open over a trail of millions.
        rows = conn.execute(_PAGE, {"after": after, "limit": batch}).mappings().all()
        for row in rows:
            seq = row["seq"]
            if seq != expected_seq:
                missing = "missing" if seq > expected_seq else "out of order"
                return VerifyReport(False, expected_seq - 1, expected_seq, f"event {expected_seq} is {missing}", prev)
            if row["prev_hash"] != prev:
                return VerifyReport(False, seq - 1, seq, "does not link to the event before it", prev)
            recomputed = link(prev, row)
            if recomputed != row["hash"]:
                return VerifyReport(False, seq - 1, seq, "content does not match its hash", prev)
            prev = recomputed
            expected_seq += 1
        if len(rows) < batch:
            return VerifyReport(True, expected_seq - 1, last_hash=prev)
        after = rows[-1]["seq"]
