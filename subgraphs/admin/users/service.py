"""User management for admins. The auth service owns users; this asks it, as the admin."""

from __future__ import annotations

import uuid
from typing import Any

from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal, Role, require_admin

from ..upstream import Upstreams, json_or_raise


class UserAdministration:
    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams

    async def search(
        self, principal: Principal, authorization: str, *, role: Role | None, q: str | None, page: PageParams
    ) -> dict[str, Any]:
        require_admin(principal)
        params: dict[str, Any] = {"limit": page.limit, "offset": page.offset}
        if role is not None:
            params["role"] = role.value
        if q:
            params["q"] = q
        response = await self.upstreams.auth.get("/users", params=params, headers={"authorization": authorization})
        return json_or_raise(response)

    async def update(
        self, principal: Principal, authorization: str, user_id: uuid.UUID, change: dict[str, Any]
    ) -> dict[str, Any]:
        require_admin(principal)
        response = await self.upstreams.auth.request(
            "PATCH", f"/users/{user_id}", json=change, headers={"authorization": authorization}
        )
        return json_or_raise(response)
