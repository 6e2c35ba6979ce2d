"""A role change takes effect within ACCOUNT_RECHECK_SECONDS on every service and every path.

Each service rechecks a token's standing at most once per recheck period: the account must be
active, its role must still be the token's `role` claim, and its session must not have ended.
The scenarios are the ones that once got through: a demoted admin's old token restoring its
admin role, and a demoted doctor's old token issuing prescriptions.
"""

from __future__ import annotations

import pytest

from ..lifecycle import Clock, checked_system
from ..system import PASSWORD, System

ROLE_CHANGED = "This token's role is no longer current; sign in again."
ADMIN_USERS = "{ adminUsers { id } }"


@pytest.fixture
async def checked(database_for, tmp_path):
    async with checked_system(database_for, tmp_path) as pair:
        yield pair


async def sign_in(system: System, email: str) -> dict:
    response = await system.auth.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return {"token": token, "headers": {"authorization": f"Bearer {token}"}}


def refused_for_its_role(response) -> None:
    assert response.status_code == 401, response.text
    problem = response.json()
    assert problem["code"] == "UNAUTHENTICATED" and problem["detail"] == ROLE_CHANGED
    assert problem["reason"] == "role_changed"


async def set_role(system: System, admin: dict, user_id: str, role: str) -> None:
    response = await system.admin.patch(f"/admin/users/{user_id}", json={"role": role}, headers=admin["headers"])
    assert response.status_code == 200 and response.json()["role"] == role, response.text


async def test_a_demoted_admin_loses_admin_rights_everywhere_after_the_recheck(checked: tuple[System, Clock]):
    system, clock = checked
    admin = await system.user("admin")
    b = await system.user("patient")
    await set_role(system, admin, b["id"], "admin")
    b_admin = await sign_in(system, b["email"])
    # Used while admin: every service has checked it and remembers the answer.
    assert (await system.admin.get("/admin/users", headers=b_admin["headers"])).status_code == 200
    assert (await system.auth.get("/users", headers=b_admin["headers"])).status_code == 200
    assert "errors" not in await system.gql("admin", ADMIN_USERS, user=b_admin)

    await set_role(system, admin, b["id"], "patient")
    clock.past_the_recheck()

    refused_for_its_role(await system.admin.get("/admin/users", headers=b_admin["headers"]))
    promote = await system.admin.patch(f"/admin/users/{b['id']}", json={"role": "admin"}, headers=b_admin["headers"])
    refused_for_its_role(promote)
    # Auth's own routes and every GraphQL path follow the same rule.
    refused_for_its_role(await system.auth.get("/users", headers=b_admin["headers"]))
    refused_for_its_role(
        await system.auth.patch(f"/users/{b['id']}", json={"role": "admin"}, headers=b_admin["headers"])
    )
    for service, query in (("admin", ADMIN_USERS), ("auth", "{ me { id role } }")):
        error = (await system.gql(service, query, user=b_admin))["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and error["message"] == ROLE_CHANGED, service

    # A fresh sign-in is a patient, who cannot promote themselves.
    b_now = await sign_in(system, b["email"])
    me = await system.auth.get("/users/profile", headers=b_now["headers"])
    assert me.json()["role"] == "patient"
    self_promotion = await system.admin.patch(
        f"/admin/users/{b['id']}", json={"role": "admin"}, headers=b_now["headers"]
    )
    assert self_promotion.status_code == 403 and self_promotion.json()["code"] == "FORBIDDEN"
    listed = await system.admin.get("/admin/users", params={"q": b["email"]}, headers=admin["headers"])
    assert [user["role"] for user in listed.json()["items"]] == ["patient"]


async def test_the_old_role_holds_only_until_the_recheck(checked: tuple[System, Clock]):
    """The bound is the recheck period: the clock, not luck, decides when the token stops."""
    system, clock = checked
    admin = await system.user("admin")
    b = await system.user("patient")
    await set_role(system, admin, b["id"], "admin")
    b_admin = await sign_in(system, b["email"])
    assert (await system.admin.get("/admin/users", headers=b_admin["headers"])).status_code == 200
    await set_role(system, admin, b["id"], "patient")
    clock.now += 10
    assert (await system.admin.get("/admin/users", headers=b_admin["headers"])).status_code == 200
    clock.now += 21
    refused_for_its_role(await system.admin.get("/admin/users", headers=b_admin["headers"]))


async def test_a_demoted_doctor_cannot_prescribe_nor_see_patients_after_the_recheck(checked: tuple[System, Clock]):
    system, clock = checked
    admin, patient, doctor = await system.user("admin"), await system.user("patient"), await system.doctor()
    appointment = await system.appointment(doctor, patient, "arrived")
    await system.prescription(doctor, appointment)
    patient_query = "query($id: ID!) { user(id: $id) { id fullName } }"
    seen = await system.gql("auth", patient_query, {"id": patient["id"]}, user=doctor)
    assert seen["data"]["user"]["id"] == patient["id"]

    await set_role(system, admin, doctor["id"], "patient")
    clock.past_the_recheck()

    body = {"appointment_id": appointment["id"], "medication": "Ibuprofen", "dosage": "200 mg", "frequency": "daily"}
    refused_for_its_role(await system.prescriptions.post("/prescriptions", json=body, headers=doctor["headers"]))
    issue = "mutation($i: IssuePrescriptionInput!) { issuePrescription(input: $i) { id } }"
    variables = {"i": {"appointmentId": appointment["id"], "medication": "Ibuprofen", "dosage": "1", "frequency": "1"}}
    issued = await system.gql("prescriptions", issue, variables, user=doctor)
    assert issued["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refused_for_its_role(await system.prescriptions.get("/prescriptions", headers=doctor["headers"]))
    refused_for_its_role(await system.appointments.get("/appointments", headers=doctor["headers"]))
    refused_for_its_role(await system.appointments.get(f"/appointments/{appointment['id']}", headers=doctor["headers"]))
    unseen = await system.gql("auth", patient_query, {"id": patient["id"]}, user=doctor)
    assert unseen["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Nothing was issued with the old token.
    listed = await system.prescriptions.get("/prescriptions", headers=patient["headers"])
    assert listed.json()["total"] == 1


async def test_a_deactivated_account_is_refused_with_its_own_reason(checked: tuple[System, Clock]):
    system, clock = checked
    admin, patient = await system.user("admin"), await system.user("patient")
    assert (await system.appointments.get("/appointments", headers=patient["headers"])).status_code == 200
    response = await system.admin.patch(
        f"/admin/users/{patient['id']}", json={"is_active": False}, headers=admin["headers"]
    )
    assert response.status_code == 200
    clock.past_the_recheck()
    refused = await system.appointments.get("/appointments", headers=patient["headers"])
    assert refused.status_code == 401 and refused.json()["reason"] == "inactive"


async def test_setting_the_role_a_user_has_ends_no_session(checked: tuple[System, Clock]):
    system, clock = checked
    admin, patient = await system.user("admin"), await system.user("patient")
    await set_role(system, admin, patient["id"], "patient")
    clock.past_the_recheck()
    assert (await system.appointments.get("/appointments", headers=patient["headers"])).status_code == 200
    assert (await system.auth.get("/users/profile", headers=patient["headers"])).status_code == 200
