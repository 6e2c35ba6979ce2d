"""Admin-only REST routes over users (the admin service's `/admin/users` calls these)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from subgraphs.kit.inputs import TEXT_PATTERN
from subgraphs.kit.openapi import UNREADABLE_BODY, problems
from subgraphs.kit.pagination import Page, PageQuery
from subgraphs.kit.principal import Role
from subgraphs.kit.security import CurrentPrincipal

from .management import UserManagement
from .schemas import UserAdminUpdate, UserOut, UserStats

router = APIRouter(tags=["user management (admin)"], responses=problems(401, {403: "FORBIDDEN: not an admin"}, 422))


def _management(request: Request) -> UserManagement:
    return request.app.state.user_management


Management = Annotated[UserManagement, Depends(_management)]


@router.get("/users", response_model=Page[UserOut], summary="Find users by role, name or email (admins)")
async def list_users(
    principal: CurrentPrincipal,
    management: Management,
    page: PageQuery,
    role: Role | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT_PATTERN)] = None,
) -> Page[UserOut]:
    users, total = await management.search(principal, role=role, q=q, page=page)
    return Page(items=[UserOut.model_validate(u) for u in users], total=total, limit=page.limit, offset=page.offset)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Deactivate, reactivate or re-role a user (admins)",
    responses=problems(UNREADABLE_BODY, 404, {409: "LAST_ADMIN: the last active admin must stay an active admin"}),
)
async def update_user(
    user_id: uuid.UUID, change: UserAdminUpdate, principal: CurrentPrincipal, management: Management
) -> UserOut:
    return UserOut.model_validate(await management.update(principal, user_id, change))


@router.get("/users/stats", response_model=UserStats, summary="How many users of each role (admins)")
async def user_stats(principal: CurrentPrincipal, management: Management) -> UserStats:
    by_role = await management.counts_by_role(principal)
    return UserStats(total=sum(by_role.values()), by_role=by_role)
