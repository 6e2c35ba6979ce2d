"""The admin subgraph's schema: the entry points of analytics and user management."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.types import Info

from subgraphs.kit.errors import NotFound
from subgraphs.kit.graphql import GraphContext, SubgraphSchema
from subgraphs.kit.graphql_cost import PAGED_LIST
from subgraphs.kit.pagination import DEFAULT_LIMIT, PageParams
from subgraphs.kit.principal import Role, require_admin

from .analytics.types import Analytics
from .users.service import UserAdministration
from .users.types import RoleEnum, UserRef


# Keyword-only so the service can be required after the base class's defaulted fields.
@dataclass(kw_only=True)
class AdminContext(GraphContext):
    authorization: str | None = None
    user_administration: UserAdministration

    def admin_call(self) -> tuple:
        principal = self.require_principal()
        require_admin(principal)
        return principal, self.authorization


def _user_id(value: str):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("No such user.") from None


@strawberry.type
class Query:
    @strawberry.field(description="Counts of users, appointments and prescriptions (admins only).")
    def analytics(self, info: Info) -> Analytics | None:
        info.context.admin_call()
        return Analytics.now()

    @strawberry.field(description="Find users by role, name or email (admins only).", directives=[PAGED_LIST])
    async def admin_users(
        self,
        info: Info,
        role: RoleEnum | None = None,
        q: str | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int | None = None,
    ) -> list[UserRef] | None:
        context: AdminContext = info.context
        principal, authorization = context.admin_call()
        page = await context.user_administration.search(
            principal,
            authorization,
            role=Role(role.value) if role else None,
            q=q,
            page=PageParams.of(limit, offset),
        )
        return [UserRef(id=strawberry.ID(item["id"])) for item in page["items"]]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Deactivate or reactivate a user (admins only).")
    async def set_user_active(self, info: Info, id: strawberry.ID, active: bool) -> UserRef | None:
        context: AdminContext = info.context
        principal, authorization = context.admin_call()
        user = await context.user_administration.update(principal, authorization, _user_id(id), {"is_active": active})
        return UserRef(id=strawberry.ID(user["id"]))

    @strawberry.mutation(description="Change a user's role (admins only).")
    async def change_user_role(self, info: Info, id: strawberry.ID, role: RoleEnum) -> UserRef | None:
        context: AdminContext = info.context
        principal, authorization = context.admin_call()
        user = await context.user_administration.update(principal, authorization, _user_id(id), {"role": role.value})
        return UserRef(id=strawberry.ID(user["id"]))


schema = SubgraphSchema(query=Query, mutation=Mutation, types=[Analytics, UserRef])
