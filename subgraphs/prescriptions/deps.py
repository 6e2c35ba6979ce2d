"""FastAPI dependencies that hand the prescriptions subgraph's service to REST routes."""

from typing import Annotated

from fastapi import Depends, Request

from .prescriptions.service import PrescriptionService


def _prescriptions(request: Request) -> PrescriptionService:
    return request.app.state.prescriptions


Prescriptions = Annotated[PrescriptionService, Depends(_prescriptions)]
