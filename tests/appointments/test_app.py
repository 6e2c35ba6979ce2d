"""The service as a process sees it: readiness, OpenAPI, the router-only subgraph endpoint."""

from __future__ import annotations

import pytest

from subgraphs.cli.registry import SUBGRAPHS
from subgraphs.cli.schema import sdl

from .conftest import AppointmentsApi


async def test_ready_checks_database_and_migrations(api: AppointmentsApi):
    response = await api.client.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_openapi_lists_public_routes_and_hides_internal_ones(api: AppointmentsApi):
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    assert {"/appointments", "/appointments/{appointment_id}", "/doctors", "/doctors/profile"} <= set(paths)
    assert not any(path.startswith("/internal") for path in paths)
    assert "/graphql" not in paths


@pytest.mark.parametrize("headers", [{}, {"x-router-secret": "wrong"}])
async def test_subgraph_endpoint_refuses_callers_without_the_router_secret(api: AppointmentsApi, headers):
    response = await api.client.post("/graphql", json={"query": "{ _service { sdl } }"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_service_sdl_is_the_committed_schema(api: AppointmentsApi):
    served = (await api.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    with open("schema/appointments.graphql") as committed:
        assert served.strip() == committed.read().strip() == sdl(SUBGRAPHS["appointments"]).strip()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/appointments"),
        ("post", "/appointments"),
        ("get", "/doctors"),
        ("get", "/doctors/profile"),
        ("delete", "/appointments/00000000-0000-0000-0000-000000000000"),
    ],
)
async def test_routes_need_a_token(api: AppointmentsApi, method, path):
    response = await api.client.request(method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    bad = await api.client.request(method, path, headers={"authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
