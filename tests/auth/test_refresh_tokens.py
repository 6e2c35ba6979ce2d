from __future__ import annotations

import pytest

from .conftest import AuthApi

REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"


async def refresh(auth: AuthApi, token: str):
    return await auth.client.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": token})


async def test_refresh_rotates_the_token(auth: AuthApi):
    user = await auth.register()
    first = await auth.login(user["email"])
    response = await refresh(auth, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await auth.client.get("/users/profile", headers=auth.bearer(second["access_token"]))).status_code == 200


async def test_reused_refresh_token_is_refused_and_revokes_its_family(auth: AuthApi):
    user = await auth.register()
    first = await auth.login(user["email"])
    second = (await refresh(auth, first["refresh_token"])).json()

    replay = await refresh(auth, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The legitimate holder's newer token dies with the family.
    assert (await refresh(auth, second["refresh_token"])).status_code == 400

    # Another session of the same user is a different family and keeps working.
    other = await auth.login(user["email"])
    assert (await refresh(auth, other["refresh_token"])).status_code == 200


async def test_graphql_refresh_and_reuse(auth: AuthApi):
    user = await auth.register()
    first = await auth.login(user["email"])
    ok = await auth.gql(REFRESH, {"t": first["refresh_token"]})
    assert ok["data"]["refreshToken"]["refreshToken"] != first["refresh_token"]
    replay = await auth.gql(REFRESH, {"t": first["refresh_token"]})
    assert replay["errors"][0]["extensions"]["code"] == "INVALID_GRANT"
    newest = await auth.gql(REFRESH, {"t": ok["data"]["refreshToken"]["refreshToken"]})
    assert newest["errors"][0]["extensions"]["code"] == "INVALID_GRANT"


async def test_logout_ends_the_session(auth: AuthApi):
    user = await auth.register()
    pair = await auth.login(user["email"])
    response = await auth.client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 204
    assert (await refresh(auth, pair["refresh_token"])).status_code == 400
    # Logging out with an unknown token says nothing about it.
    assert (await auth.client.post("/auth/logout", json={"refresh_token": "unknown"})).status_code == 204


async def test_password_grant_works_like_login(auth: AuthApi):
    user = await auth.register()
    response = await auth.client.post(
        "/auth/token", data={"grant_type": "password", "username": user["email"], "password": user["password"]}
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.headers["cache-control"] == "no-store"

    wrong = await auth.client.post(
        "/auth/token", data={"grant_type": "password", "username": user["email"], "password": "wrong password"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "a@b.co"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "forged"}, "invalid_grant"),
    ],
)
async def test_token_endpoint_errors_follow_rfc6749(auth: AuthApi, data, error):
    response = await auth.client.post("/auth/token", data=data)
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_deactivated_user_cannot_refresh(auth: AuthApi):
    from sqlalchemy import update

    from subgraphs.auth.users.models import User

    user = await auth.register()
    pair = await auth.login(user["email"])
    async with auth.app.state.db.transaction() as session:
        await session.execute(update(User).where(User.email == user["email"]).values(is_active=False))
    assert (await refresh(auth, pair["refresh_token"])).status_code == 400
    login = await auth.client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    assert login.status_code == 401
    assert (await auth.client.get("/users/profile", headers=auth.bearer(pair["access_token"]))).status_code == 401


async def test_jwks_publishes_the_signing_key(auth: AuthApi):
    response = await auth.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert [key["kid"] for key in keys] == [auth.app.state.keys.signing_kid]
    assert keys[0]["alg"] == "ES256" and keys[0]["kty"] == "EC" and "d" not in keys[0]
