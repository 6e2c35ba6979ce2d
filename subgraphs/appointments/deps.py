"""FastAPI dependencies that hand the appointments subgraph's services to REST routes."""

from typing import Annotated

from fastapi import Depends, Request

from .appointments.service import AppointmentService
from .doctors.service import DoctorService


def _doctors(request: Request) -> DoctorService:
    return request.app.state.doctors


def _appointments(request: Request) -> AppointmentService:
    return request.app.state.appointments


Doctors = Annotated[DoctorService, Depends(_doctors)]
Appointments = Annotated[AppointmentService, Depends(_appointments)]
