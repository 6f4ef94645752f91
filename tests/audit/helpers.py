from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from audit import AuditAction, EventDraft, Outcome, UnitOfWork

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def draft(n: int, **changes) -> EventDraft:
    values = dict(action=AuditAction.RECORD_READ, outcome=Outcome.PERMIT, reason="permitted",
                  occurred_at=START + dt.timedelta(seconds=n), actor_id=f"staff-{n % 5}",
                  client_pseudonym=f"CL-0000-{n:04d}", purpose="wellbeing", detail={"n": n})
    values.update(changes)
    return EventDraft(**values)


def unit(n: int, apply=None) -> UnitOfWork:
    return UnitOfWork(events=[draft(n)], apply=apply)


def without_append_only_guard(engine: Engine):
    """What a database administrator could do: switch off the triggers that keep the trail append-only."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    else:
        for table in ("audit_event", "audit_checkpoint"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only_UPDATE"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only_DELETE"))
    return conn
