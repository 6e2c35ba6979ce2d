"""The subgraph refuses an operation whose estimated cost is over GRAPHQL_MAX_COST, alone (an Apollo
Router without its commercial demand control in front) and before any resolver runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from subgraphs.kit.graphql_cost import DEFAULT_MAX_COST
from subgraphs.kit.pagination import DEFAULT_LIMIT

from ..conftest import SqlCounter, running
from ..costs import nested, nested_cost
from .conftest import AppointmentsApi, at, monday

DOCTOR_ENTITIES = """
query($r: [_Any!]!) { _entities(representations: $r) { ... on Doctor { id appointments(limit: 10) { id } } } }
"""


def refusal(estimated: int, maximum: int = DEFAULT_MAX_COST) -> dict:
    return {
        "message": f"Operation estimated cost {estimated} exceeded configured maximum {maximum}",
        "extensions": {"code": "COST_ESTIMATED_TOO_EXPENSIVE", "cost": {"estimated": estimated, "max": maximum}},
    }


async def counted(api: AppointmentsApi, query: str, variables: dict | None = None, caller=None) -> tuple[int, dict]:
    sql = SqlCounter(api.db.engine)
    try:
        result = await api.gql(query, variables, caller)
        return sql.count, result
    finally:
        event.remove(api.db.engine.sync_engine, "before_cursor_execute", sql._record)


async def test_the_amplification_is_refused_before_any_resolver_runs(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    patient = api.caller()
    for slot in range(3):
        await api.booked(patient, profile["id"], at(monday(), "09:00") + timedelta(minutes=30 * slot))

    statements, result = await counted(api, nested(6), caller=patient)

    assert result == {"data": None, "errors": [refusal(nested_cost(6, DEFAULT_LIMIT))]}
    assert statements == 0
    # The same shape, two lists deep, is cheap enough: it runs, and reads the database.
    statements, allowed = await counted(api, nested(2), caller=patient)
    assert "errors" not in allowed, allowed
    assert len(allowed["data"]["appointments"]) == 3
    assert len(allowed["data"]["appointments"][0]["doctor"]["appointments"]) == 3
    assert statements > 0


async def test_a_limit_lowers_the_cost_enough_to_run(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    patient = api.caller()
    await api.booked(patient, profile["id"], at(monday(), "10:00"))

    result = await api.gql(nested(6, limit=2), caller=patient)

    assert "errors" not in result, result
    assert len(result["data"]["appointments"]) == 1
    assert result["data"]["appointments"][0]["doctor"]["appointments"][0]["doctor"] is not None


async def test_entities_are_counted_per_representation_on_every_request(api: AppointmentsApi):
    def representations(count: int) -> dict:
        return {"r": [{"__typename": "Doctor", "id": f"00000000-0000-0000-0000-{n:012d}"} for n in range(count)]}

    admin = api.caller("admin")
    # One document text, parsed and validated once (kit/graphql.py), estimated with each request's variables.
    for count, allowed in ((100, True), (1000, False), (100, True)):
        statements, result = await counted(api, DOCTOR_ENTITIES, representations(count), admin)
        if allowed:  # refused one by one as unknown doctors, not as too expensive
            assert len(result["data"]["_entities"]) == count
            assert {error["extensions"]["code"] for error in result["errors"]} == {"NOT_FOUND"}
        else:
            assert result == {"data": None, "errors": [refusal(count * (1 + 10))]}
            assert statements == 0


async def test_the_maximum_is_configurable(make_appointments_app, token_keys):
    app = make_appointments_app(graphql_max_cost=10)
    async for client in running(app):
        api = AppointmentsApi(client, app, token_keys)
        patient = api.caller()

        assert "errors" not in await api.gql("{ appointments(limit: 10) { id } }", caller=patient)
        refused = await api.gql("{ appointments(limit: 11) { id } }", caller=patient)
        assert refused == {"data": None, "errors": [refusal(11, maximum=10)]}
