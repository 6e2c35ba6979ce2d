"""Analytics: each owning service counts in its own database; the numbers match what was made."""

from __future__ import annotations

import pytest

from subgraphs.kit.service_client import ServiceClient

from ..system import System, in_process_system


@pytest.fixture
async def system(database_for, tmp_path):
    async with in_process_system(database_for, tmp_path) as system:
        yield system


async def make_world(system: System) -> dict:
    admin = await system.user("admin")
    doctors = [await system.doctor() for _ in range(2)]
    patients = [await system.user("patient") for _ in range(3)]
    booked = await system.appointment(doctors[0], patients[0])
    arrived = await system.appointment(doctors[0], patients[1], "arrived")
    fulfilled = await system.appointment(doctors[1], patients[2], "fulfilled")
    await system.appointment(doctors[1], patients[0], "cancelled")
    first = await system.prescription(doctors[0], arrived)
    await system.prescription(doctors[1], fulfilled)
    changed = await system.prescriptions.put(
        f"/prescriptions/{first['id']}",
        json={"status": "on-hold", "version": first["version"]},
        headers=doctors[0]["headers"],
    )
    assert changed.status_code == 200, changed.text
    return {"admin": admin, "patient": patients[0], "booked": booked}


async def test_rest_analytics_counts_what_was_created(system: System):
    world = await make_world(system)
    response = await system.admin.get("/admin/analytics", headers=world["admin"]["headers"])
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["users"] == {"total": 6, "by_role": {"patient": 3, "doctor": 2, "admin": 1}}
    assert report["appointments"] == {
        "total": 4,
        "by_status": {"booked": 1, "arrived": 1, "fulfilled": 1, "cancelled": 1, "noshow": 0},
        "upcoming": 2,  # booked and arrived, both in the future
    }
    assert report["prescriptions"]["total"] == 2
    assert report["prescriptions"]["by_status"]["active"] == 1
    assert report["prescriptions"]["by_status"]["on-hold"] == 1
    assert report["generated_at"]
    # Aggregates only: nothing about anyone.
    assert world["patient"]["email"] not in response.text and "Amoxicillin" not in response.text


async def test_each_subgraph_contributes_its_share_of_the_analytics_entity(system: System):
    world = await make_world(system)
    admin = world["admin"]
    entry = await system.gql("admin", "{ analytics { id generatedAt } }", user=admin)
    analytics_id = entry["data"]["analytics"]["id"]
    representation = {"r": [{"__typename": "Analytics", "id": analytics_id}]}
    shares = {
        "auth": "users { total byRole { patient doctor admin } }",
        "appointments": "appointments { total upcoming byStatus { booked arrived fulfilled cancelled noshow } }",
        "prescriptions": "prescriptions { total byStatus { active onHold completed cancelled stopped } }",
    }
    results = {}
    for service, selection in shares.items():
        query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on Analytics {{ {selection} }} }} }}"
        result = await system.gql(service, query, representation, user=admin)
        assert "errors" not in result, result
        results[service] = result["data"]["_entities"][0]
    assert results["auth"]["users"]["byRole"] == {"patient": 3, "doctor": 2, "admin": 1}
    assert results["appointments"]["appointments"]["byStatus"]["cancelled"] == 1
    assert results["appointments"]["appointments"]["upcoming"] == 2
    assert results["prescriptions"]["prescriptions"]["byStatus"]["onHold"] == 1

    patient = world["patient"]
    for service, selection in shares.items():
        query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on Analytics {{ {selection} }} }} }}"
        denied = await system.gql(service, query, representation, user=patient)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN", service


async def test_analytics_is_503_when_an_owner_is_down_and_403_for_others(system: System):
    world = await make_world(system)
    assert (await system.admin.get("/admin/analytics", headers=world["patient"]["headers"])).status_code == 403
    for route in ("/appointments/stats", "/prescriptions/stats"):
        client = system.appointments if route.startswith("/appointments") else system.prescriptions
        assert (await client.get(route, headers=world["patient"]["headers"])).status_code == 403
    # The prescriptions service goes away: nothing listens on port 9.
    system.apps["admin"].state.analytics.upstreams.prescriptions = ServiceClient(
        "prescriptions", "http://127.0.0.1:9", retries=0
    )
    response = await system.admin.get("/admin/analytics", headers=world["admin"]["headers"])
    assert response.status_code == 503
    assert response.json()["code"] == "DEPENDENCY_UNAVAILABLE"
