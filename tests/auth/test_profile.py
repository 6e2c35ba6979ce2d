from __future__ import annotations

from .conftest import AuthApi

UPDATE = "mutation($i: ProfileInput!) { updateProfile(input: $i) { fullName phone role } }"


async def test_profile_read_and_update(auth: AuthApi):
    _user, token = await auth.user_with_token()
    response = await auth.client.put(
        "/users/profile", json={"full_name": "New Name", "phone": "+1 555 0100"}, headers=auth.bearer(token)
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "New Name"
    profile = (await auth.client.get("/users/profile", headers=auth.bearer(token))).json()
    assert profile["phone"] == "+1 555 0100"


async def test_role_cannot_be_changed_through_the_profile(auth: AuthApi):
    _user, token = await auth.user_with_token()
    response = await auth.client.put("/users/profile", json={"role": "admin"}, headers=auth.bearer(token))
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert (await auth.client.get("/users/profile", headers=auth.bearer(token))).json()["role"] == "patient"

    result = await auth.gql("mutation { updateProfile(input: {role: ADMIN}) { role } }", token=token)
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_password_change_needs_the_current_password_and_ends_sessions(auth: AuthApi):
    user = await auth.register()
    pair = await auth.login(user["email"])
    headers = auth.bearer(pair["access_token"])

    missing = await auth.client.put("/users/profile", json={"password": "brand new passphrase"}, headers=headers)
    assert missing.status_code == 422
    wrong = await auth.client.put(
        "/users/profile", json={"password": "brand new passphrase", "current_password": "nope nope"}, headers=headers
    )
    assert wrong.status_code == 401
    ok = await auth.client.put(
        "/users/profile",
        json={"password": "brand new passphrase", "current_password": user["password"]},
        headers=headers,
    )
    assert ok.status_code == 200
    assert (
        await auth.client.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
        )
    ).status_code == 400
    assert (
        await auth.client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    ).status_code == 401
    assert (
        await auth.client.post("/auth/login", json={"email": user["email"], "password": "brand new passphrase"})
    ).status_code == 200


async def test_graphql_update_profile_matches_rest(auth: AuthApi):
    _user, token = await auth.user_with_token()
    result = await auth.gql(UPDATE, {"i": {"fullName": "Via GraphQL", "phone": "+1 555 0101"}}, token=token)
    assert result["data"]["updateProfile"] == {"fullName": "Via GraphQL", "phone": "+1 555 0101", "role": "PATIENT"}
    rest = (await auth.client.get("/users/profile", headers=auth.bearer(token))).json()
    assert rest["full_name"] == "Via GraphQL"

    bad = await auth.gql(UPDATE, {"i": {"phone": "not a phone"}}, token=token)
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_profile_routes_need_a_token(auth: AuthApi):
    assert (await auth.client.get("/users/profile")).status_code == 401
    assert (await auth.client.put("/users/profile", json={"full_name": "x"})).status_code == 401
    result = await auth.gql(UPDATE, {"i": {"fullName": "x"}})
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_validate_token_get_and_post(auth: AuthApi):
    user, token = await auth.user_with_token()
    for method in ("GET", "POST"):
        response = await auth.client.request(method, "/auth/validate-token", headers=auth.bearer(token))
        assert response.status_code == 200
        body = response.json()
        assert body["valid"] is True
        assert body["user_id"] == user["id"] and body["email"] == user["email"] and body["role"] == "patient"
    missing = await auth.client.get("/auth/validate-token")
    assert missing.status_code == 401 and missing.json()["valid"] is False
