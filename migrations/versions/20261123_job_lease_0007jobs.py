"""Scheduled jobs: the lease that lets one gateway instance run each job.

Revision ID: 0007jobs
Revises: 0006when
Create Date: 2026-11-23

What it does to data: creates the empty table ``job_lease`` (one row per job, made by its first run:
who holds it until when, and when and how it last ran). No personal data; downgrade drops it, and the
instances then lose the lock (stop the schedulers first: ``GATEWAY_SCHEDULER=false``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007jobs"
down_revision = "0006when"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("held_until", sa.DateTime(), nullable=True),
        sa.Column("last_started", sa.DateTime(), nullable=True),
        sa.Column("last_finished", sa.DateTime(), nullable=True),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_lease")),
    )


def downgrade() -> None:
    op.drop_table("job_lease")
