"""Per-request batching of doctor lookups: one SQL query however many doctors are asked for."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from subgraphs.kit.errors import Unauthenticated
from subgraphs.kit.principal import Principal

from ..ids import parse_id
from .service import DoctorService
from .types import DoctorType


def doctor_loader(doctors: DoctorService, principal: Principal | None, auth_error: Exception | None) -> DataLoader:
    """Doctor (or None when there is no such profile) by id; the id is also the doctor's user id."""

    async def load(keys: list[str]) -> list[DoctorType | None | Exception]:
        if principal is None:
            error = auth_error or Unauthenticated()
            return [error for _ in keys]
        # Keys that are not ids are simply not found.
        ids = {key: uid for key in keys if (uid := parse_id(key)) is not None}
        found = await doctors.get_many(principal, list(ids.values()))
        return [DoctorType.from_model(found[ids[key]]) if ids.get(key) in found else None for key in keys]

    return DataLoader(load_fn=load)
