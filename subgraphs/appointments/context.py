"""The per-request GraphQL context: the caller, the services and fresh loaders.

Loaders are made per request (never module-level) so that nothing cached for
one caller can be served to another.
"""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from subgraphs.kit.graphql import GraphContext
from subgraphs.kit.principal import Principal

from .appointments.loaders import appointment_loader, doctor_appointments_loader, user_appointments_loader
from .appointments.service import AppointmentService
from .doctors.loaders import doctor_loader
from .doctors.service import DoctorService


@dataclass
class Loaders:
    doctors: DataLoader
    appointments: DataLoader
    user_appointments: DataLoader
    doctor_appointments: DataLoader

    @classmethod
    def build(
        cls,
        doctors: DoctorService,
        appointments: AppointmentService,
        principal: Principal | None,
        auth_error: Exception | None,
    ) -> Loaders:
        return cls(
            doctors=doctor_loader(doctors, principal, auth_error),
            appointments=appointment_loader(appointments, principal, auth_error),
            user_appointments=user_appointments_loader(appointments, principal, auth_error),
            doctor_appointments=doctor_appointments_loader(appointments, principal, auth_error),
        )


# Keyword-only so the services can be required after the base class's defaulted fields.
@dataclass(kw_only=True)
class AppointmentsContext(GraphContext):
    doctors_service: DoctorService
    appointments_service: AppointmentService
    loaders: Loaders
