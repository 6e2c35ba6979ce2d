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
        ids = {key: parse_id(key) for key in keys}
        views = await users.view_many(principal, [uid for uid in ids.values() if uid is not None])
        return [UserType.from_view(views[ids[key]]) if ids[key] in views else NotFound("No such user.") for key in keys]

    return DataLoader(load_fn=load)
