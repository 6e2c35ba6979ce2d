"""Query cost at Hive Gateway (demand control, ROUTER_MAX_COST) in front of the subgraphs' own limit:
one cost model, one refusal, and the README's operations through both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from graphql import build_ast_schema, parse

from subgraphs.cli import registry
from subgraphs.kit.graphql_cost import DEFAULT_MAX_COST, OperationCost
from subgraphs.kit.pagination import DEFAULT_LIMIT

from ..costs import nested, nested_cost, readme_operations
from .stack import Stack
from .test_admin import admin_token

pytestmark = pytest.mark.e2e

TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"


def request_id() -> str:
    return f"cost-{uuid.uuid4().hex}"


def fetches_by_subgraph(stack: Stack, rid: str, marks: dict[str, int]) -> dict[str, int]:
    return {name: len(stack.graphql_fetches(name, rid, since=mark)) for name, mark in marks.items()}


def test_the_router_refuses_the_amplification_before_any_subgraph_is_asked(stack: Stack):
    user = stack.register_and_login()
    rid = request_id()
    marks = {name: stack.processes[name].mark() for name in registry.SUBGRAPHS}

    body = stack.graphql(nested(6), token=user["token"], headers={"x-request-id": rid}).json()

    estimated = nested_cost(6, DEFAULT_LIMIT)
    assert body == {
        "errors": [
            {
                "message": f"Operation estimated cost {estimated} exceeded configured maximum {DEFAULT_MAX_COST}",
                "extensions": {"code": TOO_EXPENSIVE, "cost": {"estimated": estimated, "max": DEFAULT_MAX_COST}},
            }
        ]
    }
    assert fetches_by_subgraph(stack, rid, marks) == dict.fromkeys(registry.SUBGRAPHS, 0)


def test_the_reproduction_under_me_never_reaches_the_appointments_subgraph(stack: Stack):
    # The document: 13 levels, six lists. `me` comes from auth first (it costs 1); the
    # appointments request, the expensive one, is refused before it is sent.
    user = stack.register_and_login()
    rid = request_id()
    marks = {name: stack.processes[name].mark() for name in ("auth", "appointments")}

    body = stack.graphql(nested(6, root="me"), token=user["token"], headers={"x-request-id": rid}).json()

    assert [error["extensions"]["code"] for error in body["errors"]] == [TOO_EXPENSIVE]
    assert body["errors"][0]["extensions"]["cost"]["estimated"] > DEFAULT_MAX_COST
    assert (body.get("data") or {}).get("me", {}).get("appointments") is None
    assert fetches_by_subgraph(stack, rid, marks) == {"auth": 1, "appointments": 0}


SAME_ESTIMATE = [
    ("{ appointments(limit: 10) { id doctor { displayName } } }", None),
    ("{ appointments { status doctor { specialty } } }", None),
    ("{ doctors(limit: 3) { workingHours { weekday } appointments(limit: 4) { doctor { id } } } }", None),
    ("query($n: Int) { appointments(limit: $n) { doctor { appointments(limit: $n) { id } } } }", {"n": 4}),
    (
        "fragment D on Doctor { displayName appointments(limit: 2) { id } } { appointments(limit: 7) { doctor { ...D } } }",
        None,
    ),
    (nested(6), None),
]


@pytest.fixture(scope="module")
def counting_router(stack: Stack):
    """A router that refuses everything costing more than 1, so that its error tells its estimate."""
    router, url = stack.start_router(ROUTER_MAX_COST="1")
    yield url
    router.stop()


@pytest.mark.parametrize(("query", "variables"), SAME_ESTIMATE)
def test_the_router_and_the_subgraph_estimate_a_document_alike(stack: Stack, counting_router, query, variables):
    # Each of these is one request to the appointments subgraph: the router's estimate of it is the
    # operation's, and the subgraph (and the supergraph's SDL) must give the same number.
    user = stack.register_and_login()
    body = stack.graphql(query, variables, token=user["token"], url=counting_router).json()

    assert [error["extensions"]["code"] for error in body["errors"]] == [TOO_EXPENSIVE], body
    at_the_router = body["errors"][0]["extensions"]["cost"]["estimated"]
    subgraph = registry.SUBGRAPHS["appointments"].schema()._schema
    supergraph = build_ast_schema(parse(stack.supergraph.read_text()), assume_valid_sdl=True)
    assert at_the_router == OperationCost().estimate(subgraph, parse(query), variables)
    assert at_the_router == OperationCost().estimate(supergraph, parse(query), variables)


# --- the README's operations, through both layers ----------------------------------------------


def next_monday_at(hour: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=14 - today.weekday(), hours=hour)


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_the_readme_operations_pass_the_router_and_the_subgraphs(stack: Stack):
    operations = readme_operations()
    doctor = stack.register_and_login("DOCTOR")
    stack.data(
        "mutation($input: DoctorInput!) { createDoctorProfile(input: $input) { id } }",
        {
            "input": {
                "displayName": "Dr. Cost",
                "specialty": "general practice",
                "licenseNumber": f"LIC-{uuid.uuid4().hex[:8]}",
                "workingHours": [{"weekday": day, "start": "08:00", "end": "18:00"} for day in range(5)],
            }
        },
        token=doctor["token"],
    )
    patient = stack.register_and_login()
    starts = next_monday_at(10)

    booked = stack.data(operations["Book"], {"doctor": doctor["id"], "at": iso(starts)}, token=patient["token"])
    appointment = booked["bookAppointment"]["id"]
    stack.data(  # prescriptions are issued once the patient has arrived
        "mutation($id: ID!) { updateAppointment(id: $id, input: {status: ARRIVED}) { status } }",
        {"id": appointment},
        token=doctor["token"],
    )
    issued = stack.data(operations["Prescribe"], {"appointment": appointment}, token=doctor["token"])
    dashboard = stack.data(operations["Dashboard"], token=patient["token"])["me"]
    day = stack.data(
        operations["Day"],
        {"from": iso(starts - timedelta(hours=1)), "to": iso(starts + timedelta(hours=8))},
        token=doctor["token"],
    )["appointments"]
    analytics = stack.data(operations["Admin"], token=admin_token(stack))["analytics"]

    [seen] = dashboard["appointments"]
    assert seen["doctor"]["user"] == {"fullName": "E2E Doctor"}
    assert [p["medication"] for p in seen["prescriptions"]] == ["Amoxicillin 500 mg"]
    assert [p["medication"] for p in dashboard["prescriptions"]] == ["Amoxicillin 500 mg"]
    assert issued["issuePrescription"]["status"]
    assert [entry["patient"]["fullName"] for entry in day] == ["E2E Patient"]
    assert analytics["appointments"]["total"] >= 1
