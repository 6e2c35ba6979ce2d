"""doctor profiles, appointments, audit events, idempotency keys

Revision ID: 0001
Revises:

On PostgreSQL the database itself refuses overlapping slot-holding appointments:
one exclusion constraint per doctor and one per patient, over half-open
`[starts_at, ends_at)` ranges, only for rows that are booked or arrived. SQLite
has no such constraint; there the service's check and insert share one
serialized (BEGIN IMMEDIATE) transaction instead.
"""

import sqlalchemy as sa
from alembic import op

from subgraphs.kit.idempotency import create_idempotency_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HOLDS_SLOT = "status IN ('booked', 'arrived')"


def upgrade() -> None:
    op.create_table(
        "doctor_profiles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("specialty", sa.String(100), nullable=False),
        sa.Column("license_number", sa.String(64), nullable=False),
        sa.Column("bio", sa.Text()),
        sa.Column("years_experience", sa.Integer()),
        sa.Column("working_hours", sa.JSON(), nullable=False),
        sa.Column("appointment_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("appointment_minutes BETWEEN 5 AND 480", name="doctor_profiles_minutes_valid"),
    )
    op.create_index("ix_doctor_profiles_specialty", "doctor_profiles", ["specialty"])

    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("doctor_id", sa.Uuid(), sa.ForeignKey("doctor_profiles.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("notes", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('booked', 'arrived', 'fulfilled', 'cancelled', 'noshow')",
            name="appointments_status_valid",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="appointments_range_valid"),
    )
    op.create_index("ix_appointments_doctor_starts", "appointments", ["doctor_id", "starts_at"])
    op.create_index("ix_appointments_patient_starts", "appointments", ["patient_id", "starts_at"])

    if op.get_bind().dialect.name == "postgresql":
        # btree_gist lets one GiST index combine `uuid =` with `tstzrange &&`.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for party in ("doctor", "patient"):
            op.execute(
                f"ALTER TABLE appointments ADD CONSTRAINT appointments_{party}_no_overlap "
                f"EXCLUDE USING gist ({party}_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                f"WHERE ({HOLDS_SLOT})"
            )

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

    create_idempotency_table(op, "appointments")


def downgrade() -> None:
    op.drop_table("appointments_idempotency_keys")
    op.drop_table("audit_events")
    op.drop_table("appointments")  # its exclusion constraints go with it
    op.drop_table("doctor_profiles")
