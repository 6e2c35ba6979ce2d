"""Admins see prescriptions only as counts: `GET /prescriptions/stats` and `Analytics.prescriptions`."""

from __future__ import annotations

from .conftest import World

ANALYTICS = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on Analytics { prescriptions { total byStatus { active onHold completed cancelled stopped } } }
  }
}
"""


async def seed_statuses(world: World) -> None:
    doctor, patient = await world.doctor(), world.patient()
    held = await world.issued(doctor, patient)
    await world.issued(doctor, patient)
    response = await world.client.put(
        f"/prescriptions/{held['id']}", json={"version": 1, "status": "on-hold"}, headers=doctor.headers
    )
    assert response.status_code == 200


async def test_admins_get_counts_by_status_and_nothing_else(world: World):
    await seed_statuses(world)
    response = await world.client.get("/prescriptions/stats", headers=world.admin().headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "total": 2,
        "by_status": {"active": 1, "on-hold": 1, "completed": 0, "cancelled": 0, "stopped": 0},
    }


async def test_counts_are_for_admins_only(world: World):
    for caller in (world.patient(), world.signed_in("doctor")):
        response = await world.client.get("/prescriptions/stats", headers=caller.headers)
        assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
    assert (await world.client.get("/prescriptions/stats")).status_code == 401


async def test_the_analytics_entity_gets_its_prescription_counts_here(world: World):
    await seed_statuses(world)
    representations = {"r": [{"__typename": "Analytics", "id": "current"}]}
    result = await world.gql(ANALYTICS, representations, user=world.admin())
    assert "errors" not in result, result
    assert result["data"]["_entities"][0]["prescriptions"] == {
        "total": 2,
        "byStatus": {"active": 1, "onHold": 1, "completed": 0, "cancelled": 0, "stopped": 0},
    }
    refused = await world.gql(ANALYTICS, representations, user=world.patient())
    assert refused["data"]["_entities"] == [{"prescriptions": None}]
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
