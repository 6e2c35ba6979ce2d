"""`/internal/active-doctors`: the users who are active and doctors, for the appointment service."""

from __future__ import annotations

from ..conftest import ROUTER_HEADERS
from .conftest import AuthApi
from .test_user_management import admin_token


async def active_doctors(auth: AuthApi, headers=ROUTER_HEADERS):
    return await auth.client.get("/internal/active-doctors", headers=headers)


async def test_only_active_doctors_are_listed(auth: AuthApi):
    token = await admin_token(auth)
    staying, leaving, demoted = [await auth.register("doctor") for _ in range(3)]
    await auth.register("patient")
    listed = await active_doctors(auth)
    assert listed.status_code == 200
    assert set(listed.json()["doctor_ids"]) == {staying["id"], leaving["id"], demoted["id"]}

    headers = auth.bearer(token)
    assert (await auth.client.patch(f"/users/{leaving['id']}", json={"is_active": False}, headers=headers)).is_success
    assert (await auth.client.patch(f"/users/{demoted['id']}", json={"role": "patient"}, headers=headers)).is_success
    assert (await active_doctors(auth)).json() == {"doctor_ids": [staying["id"]]}


async def test_the_route_needs_the_router_secret(auth: AuthApi):
    await auth.register("doctor")
    for headers in ({}, {"x-router-secret": "wrong"}):
        refused = await active_doctors(auth, headers)
        assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHENTICATED"
    # Not a client route: absent from the published API description.
    assert "/internal/active-doctors" not in (await auth.client.get("/openapi.json")).json()["paths"]
