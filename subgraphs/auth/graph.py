"""The auth subgraph's federated schema: `User` and sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from subgraphs.kit.errors import NotFound
from subgraphs.kit.graphql import GraphContext, SubgraphSchema
from subgraphs.kit.graphql_inputs import checked

from .tokens.service import TokenService
from .users.analytics_types import AnalyticsUsers
from .users.management import UserManagement
from .users.schemas import LoginBody, ProfileUpdate, RegisterBody
from .users.service import UserService, UserView
from .users.types import ProfileInput, RegisterInput, TokenPair, UserType, parse_id


# Keyword-only so the services can be required after the base class's defaulted fields.
@dataclass(kw_only=True)
class AuthContext(GraphContext):
    users_service: UserService
    tokens_service: TokenService
    users: DataLoader
    user_management: UserManagement


def _given(input_object: object) -> dict[str, Any]:
    return {key: value for key, value in vars(input_object).items() if value is not strawberry.UNSET}


def _tokens(pair) -> TokenPair:
    return TokenPair(**pair.model_dump())


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> UserType | None:
        context: AuthContext = info.context
        user = await context.users_service.profile(context.require_principal())
        return UserType.from_view(UserView(user, full=True))

    @strawberry.field(description="A user the caller may see.")
    async def user(self, info: Info, id: strawberry.ID) -> UserType | None:
        context: AuthContext = info.context
        context.require_principal()
        if parse_id(id) is None:
            raise NotFound("No such user.")
        return await context.users.load(id)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a patient or doctor account.")
    async def register(self, info: Info, input: RegisterInput) -> UserType | None:
        values = _given(input)
        values["role"] = input.role.value
        body = checked(RegisterBody, values)
        context: AuthContext = info.context
        user = await context.users_service.register(body, client_address=context.client_address)
        return UserType.from_view(UserView(user, full=True))

    @strawberry.mutation(description="Exchange email and password for tokens.")
    async def login(self, info: Info, email: str, password: str) -> TokenPair | None:
        body = checked(LoginBody, {"email": email, "password": password})
        context: AuthContext = info.context
        return _tokens(await context.tokens_service.login(body.email, body.password, context.client_address))

    @strawberry.mutation(description="Exchange a refresh token for a new pair; the old one stops working.")
    async def refresh_token(self, info: Info, refresh_token: str) -> TokenPair | None:
        return _tokens(await info.context.tokens_service.refresh(refresh_token))

    @strawberry.mutation(description="End the session a refresh token belongs to.")
    async def logout(self, info: Info, refresh_token: str) -> bool | None:
        await info.context.tokens_service.logout(refresh_token)
        return True

    @strawberry.mutation(description="Change the signed-in user's profile or password.")
    async def update_profile(self, info: Info, input: ProfileInput) -> UserType | None:
        context: AuthContext = info.context
        principal = context.require_principal()
        body = checked(ProfileUpdate, _given(input))
        user = await context.users_service.update_profile(principal, body)
        return UserType.from_view(UserView(user, full=True))


schema = SubgraphSchema(query=Query, mutation=Mutation, types=[UserType, AnalyticsUsers])
