"""Analytics through the router: the admin subgraph answers the entry point, and each owner
counts its own numbers in one fetch, the three fetches planned in parallel. Every test runs through
Hive Gateway and through Apollo Gateway (conftest `router`)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from subgraphs.cli.processes import ROUTER_DIR, healthcare_command, node_executable

from .stack import Stack

ANALYTICS = """{ analytics { generatedAt
  users { total byRole { patient doctor admin } }
  appointments { total upcoming }
  prescriptions { total } } }"""


@pytest.fixture
def stack(stack: Stack, router: str) -> Stack:
    """The session's stack, sent through each router in turn."""
    return stack.via(router)


def admin_token(stack: Stack) -> str:
    email = f"admin-{uuid.uuid4().hex[:12]}@example.org"
    env = {**stack.subgraph_env("auth"), "ADMIN_PASSWORD": "an admin passphrase"}
    created = subprocess.run(
        healthcare_command("create-admin", "--email", email, "--full-name", "E2E Admin", "--password-from-env"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    login = stack.data(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        {"e": email, "p": "an admin passphrase"},
    )
    return login["login"]["accessToken"]


def query_plan(stack: Stack, query: str) -> dict:
    """The plan of the router's own planner (router/query-plan.mjs) for this stack's supergraph."""
    planned = subprocess.run(
        [node_executable(), "query-plan.mjs", str(stack.supergraph), query],
        cwd=ROUTER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(planned.stdout)["node"]


def fetched_services(node: dict) -> list[str]:
    if node["kind"] == "Fetch":
        return [node["serviceName"]]
    if node["kind"] == "Flatten":
        return fetched_services(node["node"])
    return [name for child in node["nodes"] for name in fetched_services(child)]


def test_analytics_is_one_fetch_per_owner_in_parallel(stack: Stack):
    token = admin_token(stack)
    stack.register_and_login("PATIENT")
    rid = f"analytics-{uuid.uuid4().hex}"
    marks = {name: stack.processes[name].mark() for name in ("admin", "auth", "appointments", "prescriptions")}

    analytics = stack.data(ANALYTICS, token=token, headers={"x-request-id": rid})["analytics"]

    assert analytics["users"]["byRole"]["admin"] >= 1 and analytics["users"]["byRole"]["patient"] >= 1
    assert analytics["appointments"]["total"] >= 0 and analytics["prescriptions"]["total"] >= 0
    fetches = {name: stack.graphql_fetches(name, rid, since=mark) for name, mark in marks.items()}
    assert {name: len(found) for name, found in fetches.items()} == {
        "admin": 1,
        "auth": 1,
        "appointments": 1,
        "prescriptions": 1,
    }
    # In parallel: the router's plan is the admin entry point, then the three owners side by side.
    plan = query_plan(stack, ANALYTICS)
    assert plan["kind"] == "Sequence" and [node["kind"] for node in plan["nodes"]] == ["Fetch", "Parallel"]
    assert fetched_services(plan["nodes"][0]) == ["admin"]
    assert sorted(fetched_services(plan["nodes"][1])) == ["appointments", "auth", "prescriptions"]


@pytest.mark.parametrize("role", ["PATIENT", "DOCTOR"])
def test_analytics_is_forbidden_to_everyone_but_admins(stack: Stack, role):
    user = stack.register_and_login(role)
    body = stack.graphql(ANALYTICS, token=user["token"]).json()
    assert body["data"] == {"analytics": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    users = stack.graphql("{ adminUsers { id email } }", token=user["token"]).json()
    assert users["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_admin_users_are_resolved_from_auth_through_the_router(stack: Stack):
    token = admin_token(stack)
    patient = stack.register_and_login("PATIENT")
    found = stack.data(
        "query($q: String) { adminUsers(q: $q) { id email fullName role isActive } }",
        {"q": patient["email"]},
        token=token,
    )["adminUsers"]
    assert found == [
        {"id": patient["id"], "email": patient["email"], "fullName": "E2E Patient", "role": "PATIENT", "isActive": True}
    ]
