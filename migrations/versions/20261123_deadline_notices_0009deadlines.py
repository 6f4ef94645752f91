"""Deadline reminders and escalations: the deadline_notice and notice tables, and staff e-mail addresses.

Revision ID: 0009deadlines
Revises: 0007when2
Create Date: 2026-11-23

What it does to data: creates two empty tables, ``deadline_notice`` (each reminder or escalation about
one deadline of one rights request, unique per request, deadline, due date, kind and days, so that
each is sent once) and ``notice`` (one row per staff member who receives it: listed in the web UI
until dismissed, with when it was mailed), and adds a nullable ``email`` to ``staff`` (where notices
are mailed; existing staff have none until an operator sets it). Ids, codes and dates only; no client
content. Downgrading drops the tables and the column: the record of which notices went out is lost
(the audit trail keeps a ``request.reminded`` or ``request.escalated`` event for each), and the next
pass would send the current ones again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009deadlines"
down_revision = "0007when2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "deadline_notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("deadline", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_deadline_notice_client_id_client")),
        sa.ForeignKeyConstraint(["request_id"], ["rights_request.id"],
                                name=op.f("fk_deadline_notice_request_id_rights_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_notice")),
        sa.UniqueConstraint("request_id", "deadline", "due_on", "kind", "days",
                            name=op.f("uq_deadline_notice_request_id_deadline_due_on_kind_days")),
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deadline_notice_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("mailed_at", sa.DateTime(), nullable=True),
        sa.Column("mail_attempts", sa.Integer(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["deadline_notice_id"], ["deadline_notice.id"],
                                name=op.f("fk_notice_deadline_notice_id_deadline_notice")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_notice_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("deadline_notice_id", "staff_id", name=op.f("uq_notice_deadline_notice_id_staff_id")),
    )
    op.create_index(op.f("ix_notice_staff_id_dismissed_at"), "notice", ["staff_id", "dismissed_at"])
    op.create_index(op.f("ix_notice_mailed_at"), "notice", ["mailed_at"])


def downgrade() -> None:
    op.drop_table("notice")
    op.drop_table("deadline_notice")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("email")
