"""append-only audit log

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from subgraphs.kit.audit import audit_table_name, create_audit_log

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_log(op, "auth")


def downgrade() -> None:
    op.drop_table(audit_table_name("auth"))
