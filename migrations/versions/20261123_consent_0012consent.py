"""Covenant rules on consent, the duty to inform and criminal data: their tables.

Revision ID: 0012consent
Revises: 0011stats
Create Date: 2026-11-23

What it does to data: creates the empty table ``criminal_disclosure`` (art. 5: a prosecutor's approval
to disclose one criminal entry to one party, and its revocation; ids and moments only). Nothing existing
changes. Downgrading drops the table: approvals in force are lost (their events stay in the trail) and
the parties they disclosed to no longer see those entries.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012consent"
down_revision = "0011stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "criminal_disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_party_id", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_criminal_disclosure_client_id_client")),
        sa.ForeignKeyConstraint(["recipient_party_id"], ["party.id"],
                                name=op.f("fk_criminal_disclosure_recipient_party_id_party")),
        sa.ForeignKeyConstraint(["approved_by"], ["staff.id"], name=op.f("fk_criminal_disclosure_approved_by_staff")),
        sa.ForeignKeyConstraint(["revoked_by"], ["staff.id"], name=op.f("fk_criminal_disclosure_revoked_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criminal_disclosure")),
    )
    op.create_index(op.f("ix_criminal_disclosure_entry_id_recipient_party_id_revoked_at"), "criminal_disclosure",
                    ["entry_id", "recipient_party_id", "revoked_at"])
    op.create_index(op.f("ix_criminal_disclosure_client_id_recipient_party_id"), "criminal_disclosure",
                    ["client_id", "recipient_party_id"])


def downgrade() -> None:
    op.drop_table("criminal_disclosure")
