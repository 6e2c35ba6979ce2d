from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.kit.db import UTCDateTime, utcnow

from ..orm import Base

STATUS_CHECK = "status IN ('active', 'on-hold', 'completed', 'cancelled', 'stopped')"
MAX_REFILLS = 12


class Prescription(Base):
    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint(STATUS_CHECK, name="prescriptions_status_valid"),
        CheckConstraint(f"refills BETWEEN 0 AND {MAX_REFILLS}", name="prescriptions_refills_valid"),
        CheckConstraint("duration_days IS NULL OR duration_days > 0", name="prescriptions_duration_valid"),
        CheckConstraint("version >= 1", name="prescriptions_version_valid"),
        Index("ix_prescriptions_patient_issued", "patient_id", "issued_at"),
        Index("ix_prescriptions_doctor_issued", "doctor_id", "issued_at"),
        Index("ix_prescriptions_appointment", "appointment_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Ids owned by other services (no foreign keys across services): the
    # appointment, its patient (a user id) and its doctor. The doctor's user id
    # is also their `Doctor` id in the appointments subgraph, so one column
    # serves the REST `doctor_id` and the GraphQL `Doctor` reference.
    appointment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    doctor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    medication: Mapped[str] = mapped_column(String(200))
    dosage: Mapped[str] = mapped_column(String(100))
    frequency: Mapped[str] = mapped_column(String(100))
    duration_days: Mapped[int | None] = mapped_column(Integer)
    refills: Mapped[int] = mapped_column(Integer, default=0)
    instructions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Bumped by every change; a PUT names the version it read (optimistic concurrency).
    version: Mapped[int] = mapped_column(Integer, default=1)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def ends_on(self) -> date | None:
        """The last day of the course: the (UTC) issue date plus its duration, when one was given."""
        if self.duration_days is None:
            return None
        return self.issued_at.date() + timedelta(days=self.duration_days)
