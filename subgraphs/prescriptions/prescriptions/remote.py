"""What this domain needs from the appointment service, as data and as a protocol.

The service depends on this protocol, not on HTTP; `appointments/client.py`
implements it over the network.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class AppointmentSnapshot(BaseModel):
    """The fields of the appointment service's `Appointment` this service reads; others are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    doctor_id: uuid.UUID
    status: str


class AppointmentLookup(Protocol):
    async def find(self, appointment_id: uuid.UUID, *, authorization: str | None) -> AppointmentSnapshot | None:
        """The appointment as the caller (whose `Authorization` is forwarded) may see it, or None.

        Raises `DependencyUnavailable` when the appointment service cannot answer.
        """
