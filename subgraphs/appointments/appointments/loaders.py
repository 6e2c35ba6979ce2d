"""Per-request batching of appointment reads; every loader applies the caller's visibility.

List loaders take `(owner_id, status, limit, offset)` keys. Keys sharing the
same arguments (the usual case: one field across a list) become one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable

from strawberry.dataloader import DataLoader

from subgraphs.kit.errors import NotFound, Unauthenticated
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal

from ..ids import parse_id
from .models import Appointment
from .service import AppointmentService
from .status import Status
from .types import AppointmentType

ListKey = tuple[str, str | None, int, int]
PagesFn = Callable[
    [Principal, Iterable[uuid.UUID], Status | None, PageParams], Awaitable[dict[uuid.UUID, list[Appointment]]]
]


def appointment_loader(
    appointments: AppointmentService, principal: Principal | None, auth_error: Exception | None
) -> DataLoader:
    async def load(keys: list[str]) -> list[AppointmentType | Exception]:
        if principal is None:
            return [auth_error or Unauthenticated() for _ in keys]
        # Keys that are not ids are simply not found.
        ids = {key: uid for key in keys if (uid := parse_id(key)) is not None}
        visible = await appointments.get_many(principal, list(ids.values()))
        return [
            AppointmentType.from_model(visible[ids[key]])
            if ids.get(key) in visible
            else NotFound("No such appointment.")
            for key in keys
        ]

    return DataLoader(load_fn=load)


def _pages_loader(pages: PagesFn, principal: Principal | None, auth_error: Exception | None) -> DataLoader:
    async def load(keys: list[ListKey]) -> list[list[AppointmentType] | Exception]:
        if principal is None:
            return [auth_error or Unauthenticated() for _ in keys]
        groups: dict[tuple[str | None, int, int], list[uuid.UUID]] = {}
        for owner, status, limit, offset in keys:
            owner_id = parse_id(owner)
            if owner_id is not None:
                groups.setdefault((status, limit, offset), []).append(owner_id)
        results: dict[ListKey, list[AppointmentType]] = {}
        for (status, limit, offset), owners in groups.items():
            page = PageParams(limit=limit, offset=offset)
            found = await pages(principal, owners, Status(status) if status else None, page)
            for owner_id, items in found.items():
                results[(str(owner_id), status, limit, offset)] = [AppointmentType.from_model(a) for a in items]
        # A malformed owner id owns nothing; keys are normalized to str(UUID) for lookup.
        return [results.get(_normalized(key), []) for key in keys]

    return DataLoader(load_fn=load)


def _normalized(key: ListKey) -> ListKey:
    owner_id = parse_id(key[0])
    return (str(owner_id) if owner_id else key[0], *key[1:])


def user_appointments_loader(
    appointments: AppointmentService, principal: Principal | None, auth_error: Exception | None
) -> DataLoader:
    return _pages_loader(appointments.pages_for_users, principal, auth_error)


def doctor_appointments_loader(
    appointments: AppointmentService, principal: Principal | None, auth_error: Exception | None
) -> DataLoader:
    return _pages_loader(appointments.pages_for_doctors, principal, auth_error)
