"""Who is in a doctor's care: the rule behind "a doctor sees their patients' profiles".

The appointment service knows which patients have or had an appointment with a
doctor; until it is asked, no patient is in anyone's care (fail closed).
"""

from __future__ import annotations

import uuid
from typing import Protocol


class CareRelationships(Protocol):
    async def patients_in_care(self, doctor_id: uuid.UUID, patient_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """The subset of `patient_ids` who have or had an appointment with `doctor_id`."""


class NoCareRelationships:
    async def patients_in_care(self, doctor_id: uuid.UUID, patient_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        return set()
