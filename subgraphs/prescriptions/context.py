"""The per-request GraphQL context: the caller, their forwarded credentials, the service and fresh loaders.

Loaders are made per request (never module-level) so that nothing cached for
one caller can be served to another.
"""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from subgraphs.kit.graphql import GraphContext
from subgraphs.kit.principal import Principal

from .prescriptions.loaders import (
    appointment_prescriptions_loader,
    prescription_loader,
    user_prescriptions_loader,
)
from .prescriptions.service import PrescriptionService


@dataclass
class Loaders:
    prescriptions: DataLoader
    user_prescriptions: DataLoader
    appointment_prescriptions: DataLoader

    @classmethod
    def build(
        cls, prescriptions: PrescriptionService, principal: Principal | None, auth_error: Exception | None
    ) -> Loaders:
        return cls(
            prescriptions=prescription_loader(prescriptions, principal, auth_error),
            user_prescriptions=user_prescriptions_loader(prescriptions, principal, auth_error),
            appointment_prescriptions=appointment_prescriptions_loader(prescriptions, principal, auth_error),
        )


# Keyword-only so the service can be required after the base class's defaulted fields.
@dataclass(kw_only=True)
class PrescriptionsContext(GraphContext):
    prescriptions_service: PrescriptionService
    loaders: Loaders
    # The caller's `Authorization` header, forwarded to the appointment service when issuing.
    authorization: str | None = None
