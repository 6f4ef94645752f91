"""Covenant rules on consent, the duty to inform and criminal data: their tables and columns.

Revision ID: 0012consent
Revises: 0011stats
Create Date: 2026-11-23

What it does to data: creates the empty table ``criminal_disclosure`` (art. 5: a prosecutor's approval
to disclose one criminal entry to one party, and its revocation; ids and moments only). Nothing existing
changes. Downgrading drops the table: approvals in force are lost (their events stay in the trail) and
the parties they disclosed to no longer see those entries.

Art. 10: adds the empty columns ``client.informed_how`` and ``client.informed_by`` (existing clients keep
their ``informed_at``, with no how or by whom) and creates the empty table ``client_task`` (a client
manager's task when a partner's data arrived before the client was informed). Downgrading drops them:
how and by whom each client was informed is lost (the ``client.inform`` events keep how), and so are the
tasks.

Consent: creates the empty table ``consent`` (the client's consent to an exchange the covenant makes
depend on it: the exchange's code, given, recorded and withdrawn, by whom). Downgrading drops it: the
consents are lost (their ``consent.record`` events stay) and, while the covenant still asks for consent,
those exchanges are refused until the consents are recorded again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012consent"
down_revision = "0012activity"
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


    with op.batch_alter_table("client") as batch:
        batch.add_column(sa.Column("informed_how", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("informed_by", sa.Uuid(), nullable=True))
    op.create_table(
        "client_task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_party_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_client_task_client_id_client")),
        sa.ForeignKeyConstraint(["assignee_id"], ["staff.id"], name=op.f("fk_client_task_assignee_id_staff")),
        sa.ForeignKeyConstraint(["source_party_id"], ["party.id"],
                                name=op.f("fk_client_task_source_party_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_task")),
    )
    op.create_index(op.f("ix_client_task_assignee_id_closed_at"), "client_task", ["assignee_id", "closed_at"])
    op.create_index(op.f("ix_client_task_client_id_kind_closed_at"), "client_task",
                    ["client_id", "kind", "closed_at"])
    op.create_table(
        "consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_consent_client_id_client")),
        sa.ForeignKeyConstraint(["recorded_by"], ["staff.id"], name=op.f("fk_consent_recorded_by_staff")),
        sa.ForeignKeyConstraint(["withdrawn_by"], ["staff.id"], name=op.f("fk_consent_withdrawn_by_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
    )
    op.create_index(op.f("ix_consent_client_id_scope_withdrawn_at"), "consent", ["client_id", "scope", "withdrawn_at"])


def downgrade() -> None:
    op.drop_table("consent")
    op.drop_table("client_task")
    with op.batch_alter_table("client") as batch:
        batch.drop_column("informed_by")
        batch.drop_column("informed_how")
    op.drop_table("criminal_disclosure")
