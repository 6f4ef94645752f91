"""Statistics retention (art. 9.4-9.5) and retention-term notices: the statistics_decision and
statistics_extract tables; deadline_notice rows without a request.

Revision ID: 0011stats
Revises: 0010retention
Create Date: 2026-11-23

What it does to data: creates three empty tables, ``statistics_decision`` (the controller's decision,
per client, to keep a de-identified extract when the client's file is destroyed),
``statistics_extract`` (the de-identified rows kept, each in a group of at least k: generalised periods,
party kinds and banded counts, no client id, pseudonym, name, BSN, free text or exact date) and
``statistics_held`` (such rows whose group has not reached k yet). ``deadline_notice.request_id`` becomes
nullable, for notices that a client's retention term is ending (they are about no request), and a
partial unique index makes those once per client, term end, kind and days. Existing rows are
unchanged. Downgrading drops the three tables (decisions taken are lost, the trail keeps a
``retention.decision`` event for each; kept and held extract rows are lost) and deletes the retention notices
(and their ``notice`` rows) before making ``request_id`` required again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011stats"
down_revision = "0010retention"
branch_labels = None
depends_on = None

_RETENTION_KEY = "uq_deadline_notice_client_due_on_kind_days"


def upgrade() -> None:
    with op.batch_alter_table("deadline_notice") as batch:
        batch.alter_column("request_id", existing_type=sa.Uuid(), nullable=True)
    op.create_index(_RETENTION_KEY, "deadline_notice", ["client_id", "due_on", "kind", "days"], unique=True,
                    sqlite_where=sa.text("request_id IS NULL"), postgresql_where=sa.text("request_id IS NULL"))
    op.create_table(
        "statistics_decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("term_ends_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_statistics_decision_client_id_client")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_statistics_decision_decided_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_decision")),
        sa.UniqueConstraint("client_id", name=op.f("uq_statistics_decision_client_id")),
    )
    for table in ("statistics_extract", "statistics_held"):
        op.create_table(
            table,
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("level", sa.Integer(), nullable=False),
            sa.Column("registered", sa.String(length=8), nullable=False),
            sa.Column("last_contact", sa.String(length=8), nullable=False),
            sa.Column("party_kinds", sa.String(length=400), nullable=False),
            sa.Column("entries", sa.String(length=8), nullable=False),
            sa.Column("entries_ordinary", sa.String(length=8), nullable=False),
            sa.Column("entries_special", sa.String(length=8), nullable=False),
            sa.Column("entries_criminal", sa.String(length=8), nullable=False),
            sa.Column("objection", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )


def downgrade() -> None:
    op.drop_table("statistics_held")
    op.drop_table("statistics_extract")
    op.drop_table("statistics_decision")
    op.execute("DELETE FROM notice WHERE deadline_notice_id IN "
               "(SELECT id FROM deadline_notice WHERE request_id IS NULL)")
    op.execute("DELETE FROM deadline_notice WHERE request_id IS NULL")
    op.drop_index(_RETENTION_KEY, table_name="deadline_notice")
    with op.batch_alter_table("deadline_notice") as batch:
        batch.alter_column("request_id", existing_type=sa.Uuid(), nullable=False)
