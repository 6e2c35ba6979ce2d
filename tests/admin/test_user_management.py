from __future__ import annotations

import pytest

from .conftest import AdminApi

ADMIN_USERS = "query($role: Role, $q: String) { adminUsers(role: $role, q: $q) { id } }"
SET_ACTIVE = "mutation($id: ID!, $active: Boolean!) { setUserActive(id: $id, active: $active) { id } }"
CHANGE_ROLE = "mutation($id: ID!, $role: Role!) { changeUserRole(id: $id, role: $role) { id } }"


@pytest.mark.parametrize("role", ["patient", "doctor"])
async def test_non_admins_get_403_on_every_admin_route_and_field(admin: AdminApi, role):
    user, token = await admin.auth.user_with_token(role)
    headers = {"authorization": f"Bearer {token}"}
    for method, path, body in [
        ("GET", "/admin/users", None),
        ("GET", "/admin/analytics", None),
        ("PATCH", f"/admin/users/{user['id']}", {"is_active": False}),
    ]:
        response = await admin.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "FORBIDDEN"
    for field, query, variables in [
        ("analytics", "{ analytics { id generatedAt } }", {}),
        ("adminUsers", ADMIN_USERS, {}),
        ("setUserActive", SET_ACTIVE, {"id": user["id"], "active": False}),
        ("changeUserRole", CHANGE_ROLE, {"id": user["id"], "role": "ADMIN"}),
    ]:
        result = await admin.gql(query, variables, token=token)
        assert result["data"] == {field: None}, query
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Nothing changed: the user keeps their role and still signs in.
    assert (await admin.auth.client.get("/users/profile", headers=headers)).json()["role"] == role
    login = await admin.auth.client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    assert login.status_code == 200


async def test_admin_routes_need_a_token(admin: AdminApi):
    assert (await admin.client.get("/admin/users")).status_code == 401
    result = await admin.gql("{ analytics { id } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_admin_lists_and_searches_users(admin: AdminApi):
    token = await admin.admin_token()
    house = await admin.auth.register("doctor", full_name="Gregory House")
    await admin.auth.register("patient", full_name="Lisa Cuddy")
    headers = {"authorization": f"Bearer {token}"}
    page = (await admin.client.get("/admin/users", params={"role": "doctor"}, headers=headers)).json()
    assert page["total"] == 1 and page["items"][0]["id"] == house["id"]
    everyone = (await admin.client.get("/admin/users", params={"limit": 500}, headers=headers)).json()
    assert everyone["total"] == 3 and everyone["limit"] == 100
    result = await admin.gql(ADMIN_USERS, {"q": "house"}, token=token)
    assert result["data"]["adminUsers"] == [{"id": house["id"]}]
    assert (await admin.client.get("/admin/users", params={"role": "root"}, headers=headers)).status_code == 422


async def test_admin_deactivates_and_reactivates_by_rest_and_graphql(admin: AdminApi):
    token = await admin.admin_token()
    user = await admin.auth.register()
    headers = {"authorization": f"Bearer {token}"}
    response = await admin.client.patch(f"/admin/users/{user['id']}", json={"is_active": False}, headers=headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    login = {"email": user["email"], "password": user["password"]}
    assert (await admin.auth.client.post("/auth/login", json=login)).status_code == 401

    result = await admin.gql(SET_ACTIVE, {"id": user["id"], "active": True}, token=token)
    assert result["data"]["setUserActive"] == {"id": user["id"]}
    assert (await admin.auth.client.post("/auth/login", json=login)).status_code == 200

    promoted = await admin.gql(CHANGE_ROLE, {"id": user["id"], "role": "DOCTOR"}, token=token)
    assert "errors" not in promoted
    assert (await admin.client.get("/admin/users", params={"role": "doctor"}, headers=headers)).json()["total"] == 1


async def test_last_admin_rule_and_upstream_errors_pass_through(admin: AdminApi):
    token = await admin.admin_token()
    me = (await admin.auth.client.get("/users/profile", headers={"authorization": f"Bearer {token}"})).json()
    response = await admin.client.patch(
        f"/admin/users/{me['id']}", json={"role": "patient"}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 409 and response.json()["code"] == "LAST_ADMIN"
    result = await admin.gql(SET_ACTIVE, {"id": me["id"], "active": False}, token=token)
    assert result["errors"][0]["extensions"]["code"] == "LAST_ADMIN"
    missing = await admin.gql(SET_ACTIVE, {"id": "00000000-0000-0000-0000-000000000000", "active": False}, token=token)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await admin.client.patch(
        f"/admin/users/{me['id']}", json={"password": "x"}, headers={"authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 422


async def test_ready_reports_the_auth_dependency(admin: AdminApi):
    ready = await admin.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"auth": "ok"}
