"""Trace context on audit events; the records of idempotency keys.

Revision ID: 0002http
Revises: 0001data
Create Date: 2026-11-23

What it does to data: adds the nullable column ``audit_event.traceparent`` (a partner's W3C trace
context). Existing events keep it empty, and an empty trace is not part of an event's hash, so the
trail written before this revision verifies as before. Nothing is rewritten: adding a nullable
column is a change of the table's definition, not an UPDATE, so the append-only triggers stay in
place and are not fired.

It also creates the empty table ``idempotency_record``: for 24 hours, a POST's ``Idempotency-Key``
(as a keyed digest) and its first answer (sealed), so that a retry is answered, not done twice. It
holds no personal data in the clear; downgrade drops it, and retries made after that are done again.

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
    op.create_table(
        "idempotency_record",
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_digest", name=op.f("pk_idempotency_record")),
    )
    op.create_index(op.f("ix_idempotency_record_expires_at"), "idempotency_record", ["expires_at"])


def downgrade() -> None:
    traced = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_event WHERE traceparent IS NOT NULL"))
    if traced:
        raise RuntimeError(f"{traced} audit events carry a trace context; dropping the column would break "
                           "the hash chain, so this downgrade is refused")
    op.drop_table("idempotency_record")
    op.drop_column("audit_event", "traceparent")
