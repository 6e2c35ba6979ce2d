"""the kit's append-only, hash-chained audit log replaces audit_events

Revision ID: 0002
Revises: 0001

Events already in `audit_events` are chained onto the new log, oldest first, before
the old table is dropped: history is kept, in the new shape.
"""

import sqlalchemy as sa
from alembic import op

from subgraphs.kit.audit import audit_table_name, carry_over_legacy_events, create_audit_log

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_log(op, "prescriptions")
    carry_over_legacy_events(op, "prescriptions", {"prescription": "prescriptions"})


def downgrade() -> None:
    # The chained events stay readable only in the new log; the old table comes back empty.
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_actor_id", "audit_events", ["actor_id"])
    op.create_index("ix_audit_events_entity_id", "audit_events", ["entity_id"])
    op.drop_table(audit_table_name("prescriptions"))
