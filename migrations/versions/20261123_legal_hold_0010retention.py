"""Retention: the legal_hold table.

Revision ID: 0010retention
Revises: 0009deadlines
Create Date: 2026-11-23

What it does to data: creates one empty table, ``legal_hold`` (a recorded hold that keeps a client
out of the retention purge: the reason sealed with the client's data key, who placed it, since when,
until which day, and its release). Nothing existing changes. Downgrading drops the table: the holds in
force are lost (their ``retention.hold`` events stay in the trail), and the next purge no longer skips
those clients, so release or re-place them by hand before a downgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010retention"
down_revision = "0009deadlines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("placed_by", sa.Uuid(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("until_on", sa.Date(), nullable=True),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_legal_hold_client_id_client")),
        sa.ForeignKeyConstraint(["placed_by"], ["staff.id"], name=op.f("fk_legal_hold_placed_by_staff")),
        sa.ForeignKeyConstraint(["released_by"], ["staff.id"], name=op.f("fk_legal_hold_released_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    op.create_index(op.f("ix_legal_hold_client_id_released_at"), "legal_hold", ["client_id", "released_at"])


def downgrade() -> None:
    op.drop_table("legal_hold")
