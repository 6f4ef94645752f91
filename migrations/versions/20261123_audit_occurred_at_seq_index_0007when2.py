"""Audit trail: review by period walks one index on (occurred_at, seq), newest first.

Revision ID: 0007when2
Revises: 0008rights
Create Date: 2026-11-23

What it does to data: nothing; replaces the index on ``audit_event.occurred_at`` (0006when) by one on
``(occurred_at, seq)``, which ``audit.query.events`` walks backwards for a page with a period (pages
with a period are ordered by the event's moment, then its position; see that module). Its leading
column serves every query the old index served, so appends keep the same number of indexes.
Measured on 10 million events (bench/audit_trail.py): "a month two years back" went from ~1.7 s to a
few milliseconds per page. The new index is built before the old one is dropped; on PostgreSQL the
build holds off appends while it runs (about half a minute for 10 million events).
"""

from alembic import op

revision = "0007when2"
down_revision = "0008rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_audit_event_occurred_at_seq"), "audit_event", ["occurred_at", "seq"])
    op.drop_index(op.f("ix_audit_event_occurred_at"), table_name="audit_event")


def downgrade() -> None:
    op.create_index(op.f("ix_audit_event_occurred_at"), "audit_event", ["occurred_at"])
    op.drop_index(op.f("ix_audit_event_occurred_at_seq"), table_name="audit_event")
