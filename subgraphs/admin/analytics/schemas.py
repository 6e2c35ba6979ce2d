from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class UserCounts(BaseModel):
    total: int
    by_role: dict[str, int]


class AppointmentCounts(BaseModel):
    total: int
    by_status: dict[str, int]
    upcoming: int


class PrescriptionCounts(BaseModel):
    total: int
    by_status: dict[str, int]


class AnalyticsReport(BaseModel):
    users: UserCounts
    appointments: AppointmentCounts
    prescriptions: PrescriptionCounts
    generated_at: datetime
