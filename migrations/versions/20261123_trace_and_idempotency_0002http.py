"""Trace context on audit events.

Revision ID: 0002http
Revises: 0001data
Create Date: 2026-11-23

What it does to data: adds the nullable column ``audit_event.traceparent`` (a partner's W3C trace
context). Existing events keep it empty, and an empty trace is not part of an event's hash, so the
trail written before this revision verifies as before. Nothing is rewritten: adding a nullable
column is a change of the table's definition, not an UPDATE, so the append-only triggers stay in
place and are not fired.

Downgrade refuses while any event carries a trace: dropping the column would change those events
and break the hash chain at the first of them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002http"
down_revision = "0001data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in a batch: on SQLite a batch would copy the table and lose its append-only triggers.
    op.add_column("audit_event", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    traced = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_event WHERE traceparent IS NOT NULL"))
    if traced:
        raise RuntimeError(f"{traced} audit events carry a trace context; dropping the column would break "
                           "the hash chain, so this downgrade is refused")
    op.drop_column("audit_event", "traceparent")
