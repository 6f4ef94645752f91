"""Key store: each client's data keys, wrapped by a key-encryption key.

Revision ID: 0001keys
Revises:
Create Date: 2026-11-23

What it does to data: creates the empty ``client_key`` table in the key-store database (never in
the data database).
"""

import sqlalchemy as sa
from alembic import op

revision = "0001keys"
down_revision = None
branch_labels = ("keystore",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_key",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "version", name=op.f("pk_client_key")),
    )


def downgrade() -> None:
    op.drop_table("client_key")
