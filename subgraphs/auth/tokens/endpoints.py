"""REST routes for tokens: login, the OAuth2 token endpoint, validation, logout, JWKS."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from subgraphs.kit.errors import AppError, TooManyRequests, Unauthenticated
from subgraphs.kit.jwt import bearer_token
from subgraphs.kit.openapi import RETRY_AFTER, UNREADABLE_BODY, problems
from subgraphs.kit.problem import problem_response
from subgraphs.kit.security import oauth2_scheme

from ..deps import Tokens
from ..users.schemas import LoginBody
from .schemas import RefreshBody, TokenPair, TokenValidity

router = APIRouter(tags=["tokens"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    "/auth/login",
    response_model=TokenPair,
    summary="Exchange email and password for tokens",
    responses=problems(
        UNREADABLE_BODY,
        {401: "INVALID_CREDENTIALS: one answer for an unknown email and a wrong password"},
        422,
        429,
    ),
)
async def login(body: LoginBody, request: Request, response: Response, tokens: Tokens) -> TokenPair:
    response.headers.update(NO_STORE)
    return await tokens.login(body.email, body.password, _client(request))


OAUTH_ERROR = {
    "type": "object",
    "required": ["error", "error_description"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _oauth_error_doc(description: str, headers: dict | None = None) -> dict:
    doc: dict = {"description": description, "content": {"application/json": {"schema": OAUTH_ERROR}}}
    if headers:
        doc["headers"] = headers
    return doc


def _oauth_error(status: int, error: str, description: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


@router.post(
    "/auth/token",
    response_model=TokenPair,
    summary="OAuth2 token endpoint (password and refresh_token grants, form-encoded)",
    responses={
        400: _oauth_error_doc("RFC 6749 error: invalid_request, invalid_grant, unsupported_grant_type"),
        429: _oauth_error_doc("Too many failed sign-ins (`invalid_request`); see Retry-After", RETRY_AFTER),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
                            "username": {"type": "string"},
                            "password": {"type": "string", "format": "password"},
                            "refresh_token": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def token(request: Request, tokens: Tokens) -> Response:
    # Errors here follow RFC 6749 section 5.2, not problem details: OAuth2
    # clients (Swagger's "Authorize" among them) read `error`.
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - any unreadable body is a bad request
        return _oauth_error(400, "invalid_request", "The body must be form-encoded.")
    grant = form.get("grant_type")
    try:
        if grant == "password":
            login = LoginBody(email=str(form.get("username", "")), password=str(form.get("password", "")))
            pair = await tokens.login(login.email, login.password, _client(request))
        elif grant == "refresh_token":
            refresh = RefreshBody(refresh_token=str(form.get("refresh_token", "")))
            pair = await tokens.refresh(refresh.refresh_token)
        else:
            return _oauth_error(400, "unsupported_grant_type", "grant_type must be password or refresh_token.")
    except ValidationError:
        return _oauth_error(400, "invalid_request", "Required parameters are missing or malformed.")
    except TooManyRequests as exc:
        return _oauth_error(429, "invalid_request", exc.detail, {"Retry-After": str(exc.retry_after)})
    except (Unauthenticated, AppError) as exc:
        return _oauth_error(400, "invalid_grant", exc.detail)
    return JSONResponse(pair.model_dump(), headers=NO_STORE)


async def _validate(request: Request, tokens: Tokens) -> JSONResponse:
    token = bearer_token(request.headers.get("authorization"))
    try:
        if token is None:
            raise Unauthenticated("A bearer token is required.")
        validity = await tokens.validate(token)
    except Unauthenticated as exc:
        # `reason` (kit/jwt.py `Standing`) tells the asking service why: inactive, role_changed, session_ended.
        headers = {"WWW-Authenticate": "Bearer"}
        return problem_response(401, exc.code, exc.title, exc.detail, headers, **exc.extensions, valid=False)
    return JSONResponse(validity.model_dump(mode="json"))


_validate_doc: dict[str, Any] = {
    "response_model": TokenValidity,
    "responses": problems(
        {
            401: "Invalid, expired or revoked token: a problem document with `valid: false`; for a validly "
            "signed token that no longer stands, `reason` is `inactive`, `role_changed` or `session_ended`"
        }
    ),
    "dependencies": [Depends(oauth2_scheme)],
}
router.add_api_route(
    "/auth/validate-token", _validate, methods=["GET"], summary="Check a bearer token", **_validate_doc
)
router.add_api_route(
    "/auth/validate-token", _validate, methods=["POST"], summary="Check a bearer token (POST form)", **_validate_doc
)


@router.post(
    "/auth/logout",
    status_code=204,
    summary="End the session of a refresh token",
    responses=problems(UNREADABLE_BODY, 422),
)
async def logout(body: RefreshBody, tokens: Tokens) -> Response:
    await tokens.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})
