"""prescriptions, audit events, idempotency keys

Revision ID: 0001
Revises:

The appointment, patient and doctor ids belong to other services, so they carry
no foreign keys; the rows are checked against the appointment service when issued.
"""

import sqlalchemy as sa
from alembic import op

from subgraphs.kit.idempotency import create_idempotency_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prescriptions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), nullable=False),
        sa.Column("medication", sa.String(200), nullable=False),
        sa.Column("dosage", sa.String(100), nullable=False),
        sa.Column("frequency", sa.String(100), nullable=False),
        sa.Column("duration_days", sa.Integer()),
        sa.Column("refills", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("instructions", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'on-hold', 'completed', 'cancelled', 'stopped')",
            name="prescriptions_status_valid",
        ),
        sa.CheckConstraint("refills BETWEEN 0 AND 12", name="prescriptions_refills_valid"),
        sa.CheckConstraint("duration_days IS NULL OR duration_days > 0", name="prescriptions_duration_valid"),
        sa.CheckConstraint("version >= 1", name="prescriptions_version_valid"),
    )
    op.create_index("ix_prescriptions_patient_issued", "prescriptions", ["patient_id", "issued_at"])
    op.create_index("ix_prescriptions_doctor_issued", "prescriptions", ["doctor_id", "issued_at"])
    op.create_index("ix_prescriptions_appointment", "prescriptions", ["appointment_id"])

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

    create_idempotency_table(op, "prescriptions")


def downgrade() -> None:
    op.drop_table("prescriptions_idempotency_keys")
    op.drop_table("audit_events")
    op.drop_table("prescriptions")
