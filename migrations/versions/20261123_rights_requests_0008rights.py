"""Clients' rights: the rights_request and rights_notification tables, and shielded entries.

Revision ID: 0008rights
Revises: 0007jobs
Create Date: 2026-11-23

What it does to data: creates two empty tables, ``rights_request`` (clients' access, correction and
objection requests with their deadlines, decisions and reasons; the client's statement and the
reasons encrypted with the client's key) and ``rights_notification`` (GDPR art. 19: parties told of a
correction, until they acknowledge), and adds a nullable ``shielded_at`` to ``entry`` (art. 13: an
entry shielded from all but the client manager); existing entries stay unshielded. Downgrading
drops the tables and the column: requests, their decisions and the shielding of entries are lost
(the audit trail keeps the events of each).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008rights"
down_revision = "0007jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("entry", sa.Column("shielded_at", sa.DateTime(), nullable=True))
    op.create_table(
        "rights_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("decision_due", sa.Date(), nullable=False),
        sa.Column("execution_due", sa.Date(), nullable=True),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("correction", sa.String(length=16), nullable=True),
        sa.Column("statement", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reasons", sa.LargeBinary(), nullable=True),
        sa.Column("carry_out", sa.String(length=16), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("copy_produced_at", sa.DateTime(), nullable=True),
        sa.Column("carried_out_at", sa.DateTime(), nullable=True),
        sa.Column("carried_out_late", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("reversed_at", sa.DateTime(), nullable=True),
        sa.Column("reversal_reasons", sa.LargeBinary(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_rights_request_client_id_client")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff.id"], name=op.f("fk_rights_request_decided_by_staff")),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"], name=op.f("fk_rights_request_recorded_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_request")),
    )
    op.create_index(op.f("ix_rights_request_client_id_received_on"), "rights_request", ["client_id", "received_on"])
    op.create_index(op.f("ix_rights_request_status_decision_due"), "rights_request", ["status", "decision_due"])
    op.create_table(
        "rights_notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("correction", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_rights_notification_client_id_client")),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_rights_notification_party_id_party")),
        sa.ForeignKeyConstraint(["request_id"], ["rights_request.id"],
                                name=op.f("fk_rights_notification_request_id_rights_request")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_notification")),
    )
    op.create_index(op.f("ix_rights_notification_party_id_acknowledged_at_created_at"), "rights_notification",
                    ["party_id", "acknowledged_at", "created_at"])
    op.create_index(op.f("ix_rights_notification_request_id"), "rights_notification", ["request_id"])


def downgrade() -> None:
    op.drop_table("rights_notification")
    op.drop_table("rights_request")
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("shielded_at")
