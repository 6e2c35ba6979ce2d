"""Per-request batching of user lookups (one SQL query however many users are asked for)."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from subgraphs.kit.errors import NotFound, Unauthenticated
from subgraphs.kit.principal import Principal

from .service import UserService
from .types import UserType, parse_id


def user_loader(users: UserService, principal: Principal | None, auth_error: Exception | None) -> DataLoader:
    async def load(keys: list[str]) -> list[UserType | Exception]:
        if principal is None:
            error = auth_error or Unauthenticated()
            return [error for _ in keys]
        # Keys that are not ids are simply not found.
        ids = {key: uid for key in keys if (uid := parse_id(key)) is not None}
        views = await users.view_many(principal, list(ids.values()))
        return [
            UserType.from_view(views[ids[key]]) if ids.get(key) in views else NotFound("No such user.") for key in keys
        ]

    return DataLoader(load_fn=load)
