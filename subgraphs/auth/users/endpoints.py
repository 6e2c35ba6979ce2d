"""REST routes of the users domain: thin adapters over `UserService`."""

from __future__ import annotations

from fastapi import APIRouter

from subgraphs.kit.security import CurrentPrincipal

from ..deps import Users
from .schemas import ProfileUpdate, RegisterBody, UserOut

router = APIRouter(tags=["users"])


@router.post("/auth/register", status_code=201, response_model=UserOut, summary="Create a patient or doctor account")
async def register(body: RegisterBody, users: Users) -> UserOut:
    return UserOut.model_validate(await users.register(body))


@router.get("/users/profile", response_model=UserOut, summary="The caller's profile")
async def read_profile(principal: CurrentPrincipal, users: Users) -> UserOut:
    return UserOut.model_validate(await users.profile(principal))


@router.put("/users/profile", response_model=UserOut, summary="Change the caller's profile or password")
async def update_profile(body: ProfileUpdate, principal: CurrentPrincipal, users: Users) -> UserOut:
    return UserOut.model_validate(await users.update_profile(principal, body))
