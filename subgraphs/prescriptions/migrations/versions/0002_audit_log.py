"""the kit's append-only, hash-chained audit log replaces audit_events

Revision ID: 0002
Revises: 0001

Events already in `audit_events` are chained onto the new log, oldest first, before
the old table is dropped: history is kept, in the new shape.
"""

from alembic import op

from subgraphs.kit.audit import (
    audit_table_name,
    carry_over_legacy_events,
    create_audit_log,
    recreate_legacy_events_table,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_log(op, "prescriptions")
    carry_over_legacy_events(op, "prescriptions", {"prescription": "prescriptions"})


def downgrade() -> None:
    recreate_legacy_events_table(op)
    op.drop_table(audit_table_name("prescriptions"))
