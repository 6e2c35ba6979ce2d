"""REST routes of the users domain: thin adapters over `UserService`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from subgraphs.kit.openapi import UNREADABLE_BODY, problems
from subgraphs.kit.security import CurrentPrincipal

from ..deps import Users
from .schemas import ProfileUpdate, RegisterBody, UserOut

router = APIRouter(tags=["users"], responses=problems(422))


@router.post(
    "/auth/register",
    status_code=201,
    response_model=UserOut,
    summary="Create a patient or doctor account",
    responses=problems(UNREADABLE_BODY, {409: "EMAIL_TAKEN"}, 429),
)
async def register(body: RegisterBody, request: Request, users: Users) -> UserOut:
    address = request.client.host if request.client else None
    return UserOut.model_validate(await users.register(body, client_address=address))


@router.get("/users/profile", response_model=UserOut, summary="The caller's profile", responses=problems(401))
async def read_profile(principal: CurrentPrincipal, users: Users) -> UserOut:
    return UserOut.model_validate(await users.profile(principal))


@router.put(
    "/users/profile",
    response_model=UserOut,
    summary="Change the caller's profile or password",
    responses=problems(UNREADABLE_BODY, {401: "UNAUTHENTICATED; INVALID_CREDENTIALS: the current password is wrong"}),
)
async def update_profile(body: ProfileUpdate, principal: CurrentPrincipal, users: Users) -> UserOut:
    return UserOut.model_validate(await users.update_profile(principal, body))
