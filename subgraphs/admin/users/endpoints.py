from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, StrictBool

from subgraphs.kit.inputs import TEXT_PATTERN, StrictInput
from subgraphs.kit.openapi import UNREADABLE_BODY, problems
from subgraphs.kit.pagination import Page, PageQuery
from subgraphs.kit.principal import Role
from subgraphs.kit.security import CurrentPrincipal, oauth2_scheme

from .service import UserAdministration

UPSTREAM_DOWN = {503: "DEPENDENCY_UNAVAILABLE: a service that owns the data cannot answer"}
router = APIRouter(
    tags=["user management"], responses=problems(401, {403: "FORBIDDEN: not an admin"}, 422, UPSTREAM_DOWN)
)

Token = Annotated[str, Depends(oauth2_scheme)]


def _administration(request: Request) -> UserAdministration:
    return request.app.state.user_administration


Administration = Annotated[UserAdministration, Depends(_administration)]


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: Literal["patient", "doctor", "admin"]
    phone: str | None
    date_of_birth: date | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserChange(StrictInput):
    is_active: StrictBool | None = None
    role: Role | None = None


@router.get("/admin/users", response_model=Page[UserOut], summary="Find users by role, name or email (admins)")
async def list_users(
    principal: CurrentPrincipal,
    token: Token,
    administration: Administration,
    page: PageQuery,
    role: Role | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=TEXT_PATTERN)] = None,
) -> dict:
    return await administration.search(principal, f"Bearer {token}", role=role, q=q, page=page)


@router.patch(
    "/admin/users/{user_id}",
    response_model=UserOut,
    summary="Change a user (admins)",
    responses=problems(UNREADABLE_BODY, 404, {409: "LAST_ADMIN: the last active admin must stay an active admin"}),
)
async def update_user(
    user_id: uuid.UUID, change: UserChange, principal: CurrentPrincipal, token: Token, administration: Administration
) -> dict:
    return await administration.update(
        principal, f"Bearer {token}", user_id, change.model_dump(mode="json", exclude_none=True)
    )
