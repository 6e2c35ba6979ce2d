"""Per-request batching of prescription reads; every loader applies the caller's visibility.

List loaders take `(owner_id, status, limit, offset)` keys. Keys sharing the
same arguments (the usual case: one field across a list) become one query.
An admin gets FORBIDDEN from every loader, as from every REST route: the
service refuses (and audits the refusal) before any SQL runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable

from strawberry.dataloader import DataLoader

from subgraphs.kit.errors import AppError, NotFound, Unauthenticated
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal

from ..ids import parse_id
from .models import Prescription
from .service import PrescriptionService
from .status import Status
from .types import PrescriptionType

ListKey = tuple[str, str | None, int, int]
PagesFn = Callable[
    [Principal, Iterable[uuid.UUID], Status | None, PageParams], Awaitable[dict[uuid.UUID, list[Prescription]]]
]


def prescription_loader(
    prescriptions: PrescriptionService, principal: Principal | None, auth_error: Exception | None
) -> DataLoader:
    async def load(keys: list[str]) -> list[PrescriptionType | Exception]:
        if principal is None:
            return [auth_error or Unauthenticated() for _ in keys]
        # Keys that are not ids are simply not found.
        ids = {key: uid for key in keys if (uid := parse_id(key)) is not None}
        try:
            visible = await prescriptions.get_many(principal, list(ids.values()))
        except AppError as exc:  # an admin: refused as a whole
            return [exc for _ in keys]
        return [
            PrescriptionType.from_model(visible[ids[key]])
            if ids.get(key) in visible
            else NotFound("No such prescription.")
            for key in keys
        ]

    return DataLoader(load_fn=load)


def _pages_loader(pages: PagesFn, principal: Principal | None, auth_error: Exception | None) -> DataLoader:
    async def load(keys: list[ListKey]) -> list[list[PrescriptionType] | Exception]:
        if principal is None:
            return [auth_error or Unauthenticated() for _ in keys]
        groups: dict[tuple[str | None, int, int], list[uuid.UUID]] = {}
        for owner, status, limit, offset in keys:
            owner_id = parse_id(owner)
            if owner_id is not None:
                groups.setdefault((status, limit, offset), []).append(owner_id)
        results: dict[ListKey, list[PrescriptionType]] = {}
        for (status, limit, offset), owners in groups.items():
            try:
                found = await pages(
                    principal, owners, Status(status) if status else None, PageParams(limit=limit, offset=offset)
                )
            except AppError as exc:  # an admin: refused as a whole
                return [exc for _ in keys]
            for owner_id, items in found.items():
                results[(str(owner_id), status, limit, offset)] = [PrescriptionType.from_model(p) for p in items]
        # A malformed owner id owns nothing; keys are normalized to str(UUID) for lookup.
        return [results.get(_normalized(key), []) for key in keys]

    return DataLoader(load_fn=load)


def _normalized(key: ListKey) -> ListKey:
    owner_id = parse_id(key[0])
    return (str(owner_id) if owner_id else key[0], *key[1:])


def user_prescriptions_loader(
    prescriptions: PrescriptionService, principal: Principal | None, auth_error: Exception | None
) -> DataLoader:
    return _pages_loader(prescriptions.pages_for_users, principal, auth_error)


def appointment_prescriptions_loader(
    prescriptions: PrescriptionService, principal: Principal | None, auth_error: Exception | None
) -> DataLoader:
    return _pages_loader(prescriptions.pages_for_appointments, principal, auth_error)
