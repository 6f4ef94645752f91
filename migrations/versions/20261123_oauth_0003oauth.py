"""OAuth 2: partner systems, used assertion ids, revoked tokens.

Revision ID: 0003oauth
Revises: 0002http
Create Date: 2026-11-23

What it does to data: creates three empty tables. Access tokens are not stored (they are signed
JWTs); only what every gateway instance must share about them is.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003oauth"
down_revision = "0002http"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_system",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_partner_system_party_id_party")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_partner_system")),
    )
    op.create_index(op.f("ix_partner_system_party_id"), "partner_system", ["party_id"])
    op.create_table(
        "oauth_used_assertion",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_oauth_used_assertion")),
    )
    op.create_index(op.f("ix_oauth_used_assertion_expires_at"), "oauth_used_assertion", ["expires_at"])
    op.create_table(
        "oauth_revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_oauth_revoked_token")),
    )
    op.create_index(op.f("ix_oauth_revoked_token_expires_at"), "oauth_revoked_token", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_revoked_token")
    op.drop_table("oauth_used_assertion")
    op.drop_table("partner_system")
