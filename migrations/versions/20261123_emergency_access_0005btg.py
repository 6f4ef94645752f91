"""Break-the-glass: the emergency_access table.

Revision ID: 0005btg
Revises: 0004seal
Create Date: 2026-11-23

What it does to data: creates one empty table, ``emergency_access``, for the windows in which staff
without a care-team link open a client's file in an emergency, and their review by a privacy officer.
The reason and the review note are stored encrypted with the client's key; existing rows of other
tables are not touched. Downgrading drops the table and with it the record of every window and
review (the audit trail keeps the events of each opening, read and review).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005btg"
down_revision = "0004seal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emergency_access",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("review_outcome", sa.String(length=16), nullable=True),
        sa.Column("review_note", sa.LargeBinary(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_emergency_access_client_id_client")),
        sa.ForeignKeyConstraint(["reviewed_by"], ["staff.id"], name=op.f("fk_emergency_access_reviewed_by_staff")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_emergency_access_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_access")),
    )
    op.create_index(op.f("ix_emergency_access_client_id_staff_id_since"), "emergency_access",
                    ["client_id", "staff_id", "since"])
    op.create_index(op.f("ix_emergency_access_reviewed_at_since"), "emergency_access", ["reviewed_at", "since"])


def downgrade() -> None:
    op.drop_table("emergency_access")
