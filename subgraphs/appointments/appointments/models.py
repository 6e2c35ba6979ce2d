from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.kit.db import UTCDateTime, utcnow

from ..orm import Base

# On PostgreSQL two exclusion constraints (migration 0001) refuse overlapping
# booked/arrived appointments of one doctor, and of one patient; a racing
# second booking fails there even when both passed the service's own check.
DOCTOR_OVERLAP_CONSTRAINT = "appointments_doctor_no_overlap"
PATIENT_OVERLAP_CONSTRAINT = "appointments_patient_no_overlap"


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('booked', 'arrived', 'fulfilled', 'cancelled', 'noshow')",
            name="appointments_status_valid",
        ),
        CheckConstraint("ends_at > starts_at", name="appointments_range_valid"),
        Index("ix_appointments_doctor_starts", "doctor_id", "starts_at"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # A user id from the auth service; this service cannot check it exists.
    patient_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The doctor's user id, which is also their profile's id.
    doctor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("doctor_profiles.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    reason: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
