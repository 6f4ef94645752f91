"""Covenant versions that every party signs (art. 16): covenant_version, covenant_party_key, covenant_approval.

Revision ID: 0012versions
Revises: 0011stats
Create Date: 2026-11-23

What it does to data: creates three empty tables. ``covenant_version`` holds each proposed version of
the covenant (its canonical RFC 8785 JSON document, the document's SHA-256, when and by whom it was
proposed, and when it came into force once every party approved); ``covenant_party_key`` the parties'
Ed25519 public keys (no private key is ever stored); ``covenant_approval`` each party's signature
over a version. Existing rows are unchanged. A gateway upgraded to this revision has no version in
force until one is proposed and approved (demo mode does that itself, from the covenant file).
Downgrading drops the three tables: the versions, keys and approvals are lost (the trail keeps a
``covenant.*`` event for each act).
"""

import sqlalchemy as sa
from alembic import op


revision = "0012versions"
down_revision = "0011stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "covenant_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("covenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("effective_from", sa.DateTime(), nullable=True),
        sa.Column("effective_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_covenant_version")),
        sa.UniqueConstraint("covenant_id", "version", name=op.f("uq_covenant_version_covenant_id_version")),
    )
    op.create_index(op.f("ix_covenant_version_effective_at"), "covenant_version", ["effective_at"])
    op.create_table(
        "covenant_party_key",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_covenant_party_key")),
    )
    op.create_index(op.f("ix_covenant_party_key_party"), "covenant_party_key", ["party"])
    op.create_table(
        "covenant_approval",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=80), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["covenant_party_key.id"],
                                name=op.f("fk_covenant_approval_key_id_covenant_party_key")),
        sa.ForeignKeyConstraint(["version_id"], ["covenant_version.id"],
                                name=op.f("fk_covenant_approval_version_id_covenant_version")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_covenant_approval")),
        sa.UniqueConstraint("version_id", "party", name=op.f("uq_covenant_approval_version_id_party")),
    )


def downgrade() -> None:
    op.drop_table("covenant_approval")
    op.drop_index(op.f("ix_covenant_party_key_party"), table_name="covenant_party_key")
    op.drop_table("covenant_party_key")
    op.drop_index(op.f("ix_covenant_version_effective_at"), table_name="covenant_version")
    op.drop_table("covenant_version")
