"""The processing activity on audit events (art. 15; Logboek Dataverwerkingen).

Revision ID: 0012activity
Revises: 0011stats
Create Date: 2026-11-23

What it does to data: adds the nullable column ``audit_event.activity``, the identifier of the processing
activity in the processing register that the event served. Existing events keep it empty, and an empty
activity is not part of an event's hash (``audit.chain.OPTIONAL_CHAINED_FIELDS``), so the trail written
before this revision verifies as before. Nothing is rewritten: adding a nullable column changes the
table's definition, not its rows, so the append-only triggers stay in place and are not fired.

Downgrade refuses while any event names an activity: dropping the column would change those events and
break the hash chain at the first of them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012activity"
down_revision = "0012versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in a batch: on SQLite a batch would copy the table and lose its append-only triggers.
    op.add_column("audit_event", sa.Column("activity", sa.String(length=100), nullable=True))


def downgrade() -> None:
    named = op.get_bind().scalar(sa.text("SELECT count(*) FROM audit_event WHERE activity IS NOT NULL"))
    if named:
        raise RuntimeError(f"{named} audit events name a processing activity; dropping the column would break "
                           "the hash chain, so this downgrade is refused")
    op.drop_column("audit_event", "activity")
