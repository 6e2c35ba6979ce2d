from __future__ import annotations

import httpx
import pytest

from subgraphs.kit.errors import Unauthenticated
from subgraphs.kit.jwt import RemoteJwks, TokenVerifier, remote_account_status

from ..conftest import running
from .conftest import AuthApi

ANALYTICS = '{ _entities(representations: [{__typename: "Analytics", id: "now"}]) { ... on Analytics { users { total byRole { patient doctor admin } } } } }'


async def admin_token(auth: AuthApi, email: str | None = None) -> str:
    email = email or auth.new_email("admin")
    await auth.app.state.users.create_admin(email, "admin passphrase", "Ada Admin")
    return (await auth.login(email, "admin passphrase"))["access_token"]


@pytest.mark.parametrize("role", ["patient", "doctor"])
async def test_non_admins_are_forbidden_everywhere(auth: AuthApi, role):
    user, token = await auth.user_with_token(role)
    headers = auth.bearer(token)
    for method, path, body in [
        ("GET", "/users", None),
        ("GET", "/users/stats", None),
        ("PATCH", f"/users/{user['id']}", {"role": "admin"}),
    ]:
        response = await auth.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "FORBIDDEN"
    result = await auth.gql(ANALYTICS, token=token)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await auth.client.get("/users/profile", headers=headers)).json()["role"] == role


async def test_search_filters_and_pages(auth: AuthApi):
    token = await admin_token(auth)
    await auth.register("doctor", full_name="Gregory House")
    await auth.register("doctor", full_name="James Wilson")
    await auth.register("patient", full_name="Lisa 100% Cuddy")
    headers = auth.bearer(token)

    doctors = (await auth.client.get("/users", params={"role": "doctor"}, headers=headers)).json()
    assert doctors["total"] == 2 and {u["full_name"] for u in doctors["items"]} == {"Gregory House", "James Wilson"}
    by_name = (await auth.client.get("/users", params={"q": "house"}, headers=headers)).json()
    assert [u["full_name"] for u in by_name["items"]] == ["Gregory House"]
    wildcard = (await auth.client.get("/users", params={"q": "%"}, headers=headers)).json()
    assert [u["full_name"] for u in wildcard["items"]] == ["Lisa 100% Cuddy"]
    page = (await auth.client.get("/users", params={"limit": 2, "offset": 2}, headers=headers)).json()
    assert page["total"] == 4 and len(page["items"]) == 2 and page["limit"] == 2 and page["offset"] == 2
    assert (await auth.client.get("/users", params={"role": "superuser"}, headers=headers)).status_code == 422


async def test_counts_match_what_was_created(auth: AuthApi):
    token = await admin_token(auth)
    for role, n in (("patient", 3), ("doctor", 2)):
        for _ in range(n):
            await auth.register(role)
    stats = (await auth.client.get("/users/stats", headers=auth.bearer(token))).json()
    assert stats == {"total": 6, "by_role": {"patient": 3, "doctor": 2, "admin": 1}}
    result = await auth.gql(ANALYTICS, token=token)
    assert result["data"]["_entities"][0]["users"] == {"total": 6, "byRole": {"patient": 3, "doctor": 2, "admin": 1}}


async def test_deactivated_user_is_refused_at_login_refresh_and_next_check(make_auth_app):
    app = make_auth_app(account_recheck_seconds=0)
    async for client in running(app):
        auth = AuthApi(client, app)
        token = await admin_token(auth)
        user = await auth.register()
        pair = await auth.login(user["email"])
        assert (await client.get("/users/profile", headers=auth.bearer(pair["access_token"]))).status_code == 200

        response = await client.patch(f"/users/{user['id']}", json={"is_active": False}, headers=auth.bearer(token))
        assert response.status_code == 200 and response.json()["is_active"] is False

        login = await client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
        assert login.status_code == 401 and login.json()["code"] == "INVALID_CREDENTIALS"
        refresh = await client.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
        )
        assert refresh.status_code == 400
        result = await auth.gql(f'{{ user(id: "{user["id"]}") {{ id }} }}', token=pair["access_token"])
        assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        await client.patch(f"/users/{user['id']}", json={"is_active": True}, headers=auth.bearer(token))
        assert (
            await client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
        ).status_code == 200


async def test_other_services_notice_deactivation_at_their_next_check(auth: AuthApi):
    token = await admin_token(auth)
    user, user_token = await auth.user_with_token()
    transport = httpx.ASGITransport(app=auth.app)
    now = [0.0]
    verifier = TokenVerifier(
        RemoteJwks("http://auth/.well-known/jwks.json", transport=transport),
        issuer="healthcare-auth",
        audience="healthcare-api",
        status=remote_account_status(
            "http://auth/auth/validate-token", recheck_seconds=30, transport=transport, clock=lambda: now[0]
        ),
    )
    assert str((await verifier.verify(user_token)).user_id) == user["id"]
    await auth.client.patch(f"/users/{user['id']}", json={"is_active": False}, headers=auth.bearer(token))
    now[0] = 10  # within the recheck window the last answer stands
    await verifier.verify(user_token)
    now[0] = 31
    with pytest.raises(Unauthenticated):
        await verifier.verify(user_token)


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(auth: AuthApi):
    first_email = auth.new_email("admin")
    first = await admin_token(auth, first_email)
    me = (await auth.client.get("/users/profile", headers=auth.bearer(first))).json()
    for change in ({"role": "doctor"}, {"is_active": False}):
        response = await auth.client.patch(f"/users/{me['id']}", json=change, headers=auth.bearer(first))
        assert response.status_code == 409 and response.json()["code"] == "LAST_ADMIN"

    second = await admin_token(auth)
    demoted = await auth.client.patch(f"/users/{me['id']}", json={"role": "doctor"}, headers=auth.bearer(second))
    assert demoted.status_code == 200 and demoted.json()["role"] == "doctor"
    # Now the second admin is the last one.
    second_id = (await auth.client.get("/users/profile", headers=auth.bearer(second))).json()["id"]
    refused = await auth.client.patch(f"/users/{second_id}", json={"is_active": False}, headers=auth.bearer(second))
    assert refused.status_code == 409


async def test_role_change_ends_sessions_and_bad_input_is_refused(auth: AuthApi):
    token = await admin_token(auth)
    user = await auth.register()
    pair = await auth.login(user["email"])
    headers = auth.bearer(token)
    assert (
        await auth.client.patch(f"/users/{user['id']}", json={"role": "doctor"}, headers=headers)
    ).status_code == 200
    refresh = await auth.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    assert refresh.status_code == 400
    for body in ({"role": "root"}, {"email": "x@y.z"}, {"is_active": "maybe"}):
        response = await auth.client.patch(f"/users/{user['id']}", json=body, headers=headers)
        assert response.status_code == 422, body
    missing = await auth.client.patch(
        "/users/00000000-0000-0000-0000-000000000000", json={"role": "doctor"}, headers=headers
    )
    assert missing.status_code == 404
    assert (await auth.client.patch("/users/not-a-uuid", json={}, headers=headers)).status_code == 422
