"""FastAPI dependencies that hand the auth services to REST routes."""

from typing import Annotated

from fastapi import Depends, Request

from .tokens.service import TokenService
from .users.service import UserService


def _users(request: Request) -> UserService:
    return request.app.state.users


def _tokens(request: Request) -> TokenService:
    return request.app.state.tokens


Users = Annotated[UserService, Depends(_users)]
Tokens = Annotated[TokenService, Depends(_tokens)]
