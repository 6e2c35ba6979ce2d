"""The REST side of authentication: the bearer scheme and the `CurrentPrincipal` dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from .errors import Unauthenticated
from .logging import user_id_var
from .principal import Principal

# The token URL is rewritten per service in the OpenAPI document (`kit.app`) so
# Swagger's "Authorize" button reaches the auth service from every service.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def current_principal(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if token is None:
        raise Unauthenticated("A bearer token is required.")
    principal = await request.app.state.verifier.verify(token)
    user_id_var.set(str(principal.user_id))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
