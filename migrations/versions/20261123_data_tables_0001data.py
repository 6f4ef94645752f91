"""Data tables: parties, staff, clients, care-team links, entries, and the audit trail.

Revision ID: 0001data
Revises:
Create Date: 2026-11-23

What it does to data: creates empty tables. The audit trail is append-only: triggers refuse
UPDATE and DELETE (and TRUNCATE, on PostgreSQL) on ``audit_event`` (a database administrator can drop them, which is why the
trail is hash-chained and verified as well).
"""

import sqlalchemy as sa
from alembic import op

revision = "0001data"
down_revision = None
branch_labels = ("data",)
depends_on = None

_APPEND_ONLY_SQLITE = """
CREATE TRIGGER audit_event_append_only_{verb} BEFORE {verb} ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
"""
_APPEND_ONLY_PG_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$
"""
_APPEND_ONLY_PG_TRIGGER = """
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "party",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party")),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["party.id"], name=op.f("fk_staff_party_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("handle", name=op.f("uq_staff_handle")),
    )
    op.create_index(op.f("ix_staff_party_id"), "staff", ["party_id"])
    op.create_table(
        "client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("bsn_index", sa.String(length=64), nullable=True),
        sa.Column("informed_at", sa.DateTime(), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=True),
        sa.Column("client_manager_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["registered_by"], ["staff.id"], name=op.f("fk_client_registered_by_staff")),
        sa.ForeignKeyConstraint(["client_manager_id"], ["staff.id"], name=op.f("fk_client_client_manager_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
        sa.UniqueConstraint("bsn_index", name=op.f("uq_client_bsn_index")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_client_pseudonym")),
    )
    op.create_table(
        "care_link",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("ended_by", sa.Uuid(), nullable=True),
        sa.Column("end_reason", sa.LargeBinary(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_care_link_client_id_client")),
        sa.ForeignKeyConstraint(["ended_by"], ["staff.id"], name=op.f("fk_care_link_ended_by_staff")),
        sa.ForeignKeyConstraint(["granted_by"], ["staff.id"], name=op.f("fk_care_link_granted_by_staff")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_care_link_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_link")),
    )
    op.create_index(op.f("ix_care_link_client_id_staff_id_since"), "care_link", ["client_id", "staff_id", "since"])
    op.create_index(op.f("ix_care_link_staff_id"), "care_link", ["staff_id"])
    op.create_table(
        "entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("source_party_id", sa.String(length=64), nullable=False),
        sa.Column("source_reference_index", sa.String(length=64), nullable=True),
        sa.Column("confidentiality_ground", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], name=op.f("fk_entry_client_id_client")),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"], name=op.f("fk_entry_created_by_staff")),
        sa.ForeignKeyConstraint(["source_party_id"], ["party.id"], name=op.f("fk_entry_source_party_id_party")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry")),
    )
    op.create_index(op.f("ix_entry_client_id_created_at_id"), "entry", ["client_id", "created_at", "id"])
    op.create_index(op.f("ix_entry_source_party_id_source_reference_index"), "entry",
                    ["source_party_id", "source_reference_index"])
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_roles", sa.String(length=200), nullable=True),
        sa.Column("actor_party", sa.String(length=64), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=100), nullable=True),
        sa.Column("client_pseudonym", sa.String(length=32), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("categories", sa.String(length=100), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("authority", sa.String(length=100), nullable=True),
        sa.Column("covenant_version", sa.String(length=100), nullable=True),
        sa.Column("access_point", sa.String(length=200), nullable=True),
        sa.Column("source_system", sa.String(length=100), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_event_id")),
    )
    op.create_index(op.f("ix_audit_event_actor_id_seq"), "audit_event", ["actor_id", "seq"])
    op.create_index(op.f("ix_audit_event_client_pseudonym_seq"), "audit_event", ["client_pseudonym", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_PG_FUNCTION)
        op.execute(_APPEND_ONLY_PG_TRIGGER)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(_APPEND_ONLY_SQLITE.format(verb=verb))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    for table in ("audit_event", "entry", "care_link", "client", "staff", "party"):
        op.drop_table(table)
