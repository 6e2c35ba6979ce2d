"""Who is calling: handed by the adapters to every service function."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    role: Role
    token_id: str
    expires_at: datetime
    # The sign-in session (refresh-token family) the token was issued to; None in tokens
    # issued before access tokens named their session.
    session_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_doctor(self) -> bool:
        return self.role is Role.DOCTOR

    @property
    def is_patient(self) -> bool:
        return self.role is Role.PATIENT


def require_admin(principal: Principal) -> None:
    from .errors import Forbidden

    if not principal.is_admin:
        raise Forbidden("Only admins may do this.")
