from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.kit.db import UTCDateTime, utcnow

from ..orm import Base


class DoctorProfile(Base):
    """A doctor's directory entry and working hours.

    Its id *is* the doctor's user id (one profile per doctor user): a Doctor, the
    User behind it and every `appointments.doctor_id` share one identifier, so
    no caller ever has to translate between a profile id and a user id.
    """

    __tablename__ = "doctor_profiles"
    __table_args__ = (CheckConstraint("appointment_minutes BETWEEN 5 AND 480", name="doctor_profiles_minutes_valid"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(100), index=True)
    license_number: Mapped[str] = mapped_column(String(64))
    bio: Mapped[str | None] = mapped_column(Text)
    years_experience: Mapped[int | None] = mapped_column(Integer)
    # [{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}], local times in `timezone`.
    working_hours: Mapped[list[dict]] = mapped_column(JSON, default=list)
    appointment_minutes: Mapped[int] = mapped_column(Integer, default=30)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def user_id(self) -> uuid.UUID:
        return self.id
