"""The router in front of the real subgraphs: what a client sees, and what reaches a subgraph.

Every test runs through Hive Gateway and through Apollo Gateway (conftest `router`), except where
`HIVE_ONLY` says why not."""

from __future__ import annotations

import concurrent.futures
import uuid

import httpx
import pytest

from subgraphs.cli import registry
from subgraphs.kit.settings import DEV_ROUTER_SECRET

from .stack import ECHO, HIVE, HIVE_ONLY, HTTP_TIMEOUT, Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(stack: Stack, router: str) -> Stack:
    """The session's stack, sent through each router in turn."""
    return stack.via(router)


ME = "query Me { me { id fullName } }"


def request_id() -> str:
    return f"e2e-{uuid.uuid4().hex}"


def response_text(body: dict) -> str:
    import json

    return json.dumps(body)


def echoed(stack: Stack, **kwargs) -> dict[str, str]:
    headers = stack.data("{ echoHeaders { name value } }", **kwargs)["echoHeaders"]
    return {header["name"]: header["value"] for header in headers}


# --- users through the router ---------------------------------------------------------------


def test_register_login_and_me_through_the_router(stack: Stack):
    user = stack.register_and_login()

    me = stack.data(ME, token=user["token"])["me"]

    assert me == {"id": user["id"], "fullName": "E2E Patient"}


def test_each_user_gets_their_own_answer_when_identical_queries_run_at_once(stack: Stack):
    # Identical in-flight subgraph queries may be merged (deduplicateInflightRequests): never
    # across users, because the Authorization header is part of what makes them identical.
    users = [stack.register_and_login() for _ in range(3)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        futures = [(user, pool.submit(stack.data, ME, token=user["token"])) for user in users * 4]
        for user, future in futures:
            assert future.result(timeout=HTTP_TIMEOUT)["me"]["id"] == user["id"]


def test_a_bad_token_is_unauthenticated(stack: Stack):
    response = stack.graphql(ME, token="not-a-token")

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"me": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["errors"][0]["path"] == ["me"]


def test_without_a_token_me_is_unauthenticated(stack: Stack):
    body = stack.graphql(ME).json()

    assert body["data"] == {"me": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_wrong_password_is_refused_through_the_router(stack: Stack):
    user = stack.register_and_login()

    body = stack.graphql(
        "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }",
        {"email": user["email"], "password": "wrong password here"},
    ).json()

    assert body["data"] == {"login": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["INVALID_CREDENTIALS"]
    assert body["errors"][0]["message"] == "Email or password is incorrect."


def test_a_federated_query_resolves_entities_across_subgraphs(stack: Stack):
    if "appointments" not in registry.SUBGRAPHS:
        pytest.skip("needs the appointments subgraph (User.doctorProfile, Doctor.user)")
    doctor = stack.register_and_login("DOCTOR")
    stack.data(
        """mutation Profile($input: DoctorInput!) { createDoctorProfile(input: $input) { id } }""",
        {
            "input": {
                "displayName": "Dr. E2E",
                "specialty": "cardiology",
                "licenseNumber": f"LIC-{uuid.uuid4().hex[:8]}",
            }
        },
        token=doctor["token"],
    )
    rid = request_id()
    marks = {name: stack.processes[name].mark() for name in ("auth", "appointments")}

    # auth (me) -> appointments (User.doctorProfile, User.appointments) -> auth (Doctor.user)
    me = stack.data(
        "{ me { fullName doctorProfile { displayName user { id fullName } } appointments { id } } }",
        token=doctor["token"],
        headers={"x-request-id": rid},
    )["me"]

    assert me == {
        "fullName": "E2E Doctor",
        "doctorProfile": {"displayName": "Dr. E2E", "user": {"id": doctor["id"], "fullName": "E2E Doctor"}},
        "appointments": [],
    }
    # One fetch per step of the plan: me, then one _entities batch to appointments, then one back.
    assert len(stack.graphql_fetches("auth", rid, since=marks["auth"])) == 2
    assert len(stack.graphql_fetches("appointments", rid, since=marks["appointments"])) == 1


# --- what reaches the subgraphs -------------------------------------------------------------


@HIVE_ONLY  # asks the subgraph directly, no router in between: one run says it all
def test_subgraphs_refuse_requests_without_the_router_secret(stack: Stack):
    auth = f"http://127.0.0.1:{stack.subgraph_ports['auth']}/graphql"
    query = {"query": "{ __typename }"}

    missing = httpx.post(auth, json=query, timeout=HTTP_TIMEOUT)
    default = httpx.post(auth, json=query, headers={"x-router-secret": DEV_ROUTER_SECRET}, timeout=HTTP_TIMEOUT)
    right = httpx.post(auth, json=query, headers={"x-router-secret": stack.secret}, timeout=HTTP_TIMEOUT)

    assert missing.status_code == 401
    assert default.status_code == 401  # the stack runs with its own secret, not the dev default
    assert right.status_code == 200
    assert right.json() == {"data": {"__typename": "Query"}}


def test_the_router_adds_its_secret_and_propagates_the_client_headers(stack: Stack):
    user = stack.register_and_login()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    rid = request_id()

    headers = echoed(
        stack,
        token=user["token"],
        headers={
            "traceparent": traceparent,
            "x-request-id": rid,
            "cookie": "session=do-not-forward",
            "x-unrelated": "do-not-forward",
        },
    )

    assert headers["x-router-secret"] == stack.secret
    assert headers["authorization"] == f"Bearer {user['token']}"
    assert headers["traceparent"] == traceparent
    assert headers["x-request-id"] == rid
    assert "cookie" not in headers
    assert "x-unrelated" not in headers


def test_a_client_cannot_forge_the_secret_or_its_address(stack: Stack):
    headers = echoed(stack, headers={"x-router-secret": "forged", "x-forwarded-for": "203.0.113.9"})

    assert headers["x-router-secret"] == stack.secret
    # The router puts the peer it saw, not what the client claims (auth rate-limits logins by it).
    assert headers["x-forwarded-for"] == "127.0.0.1"


def test_the_request_id_reaches_the_subgraph_logs_and_one_query_is_one_fetch(stack: Stack):
    user = stack.register_and_login()
    rid = request_id()
    mark = stack.processes["auth"].mark()

    response = stack.graphql("{ me { id fullName email role } }", token=user["token"], headers={"x-request-id": rid})

    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == rid
    assert response.json()["data"]["me"]["id"] == user["id"]
    fetches = stack.graphql_fetches("auth", rid, since=mark)
    assert len(fetches) == 1, stack.processes["auth"].lines_since(mark)
    assert fetches[0]["method"] == "POST"
    assert fetches[0]["status"] == 200


def test_fields_of_two_subgraphs_in_one_query(stack: Stack):
    user = stack.register_and_login()
    rid = request_id()
    auth_mark = stack.processes["auth"].mark()

    data = stack.data("{ me { id } echoHeaders { name } }", token=user["token"], headers={"x-request-id": rid})

    assert data["me"]["id"] == user["id"]
    assert "x-router-secret" in {header["name"] for header in data["echoHeaders"]}
    assert len(stack.graphql_fetches("auth", rid, since=auth_mark)) == 1


def test_a_slow_subgraph_times_out_and_the_other_fields_still_answer(stack: Stack):
    user = stack.register_and_login()

    # The stack's router gives subgraphs 3 s (SUBGRAPH_TIMEOUT_MS); the echo subgraph takes 15.
    response = stack.graphql("{ me { id } slow(seconds: 15) }", token=user["token"])

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"me": {"id": user["id"]}, "slow": None}
    assert [error["extensions"] for error in body["errors"]] == [{"code": "GATEWAY_TIMEOUT", "serviceName": ECHO}]
    assert body["errors"][0]["message"] == "The echo service did not answer in time."


# --- a subgraph going away ------------------------------------------------------------------


def test_a_dead_subgraph_fails_its_fields_only(make_stack, router: str):
    stack = make_stack(routers=[router]).via(router)
    user = stack.register_and_login()
    assert stack.data("{ me { id } echoHeaders { name } }", token=user["token"])["me"]["id"] == user["id"]

    stack.processes[ECHO].kill()
    body = stack.graphql("{ me { id fullName } echoHeaders { name } }", token=user["token"]).json()

    assert body["data"]["me"] == {"id": user["id"], "fullName": "E2E Patient"}
    assert body["data"]["echoHeaders"] is None
    assert len(body["errors"]) == 1, body
    if router == HIVE:
        # Apollo Gateway gives a failed fetch's error no path (docs/router.md, known differences).
        assert [error["path"] for error in body["errors"]] == [["echoHeaders"]]
    assert body["errors"][0]["extensions"] == {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": ECHO}
    assert body["errors"][0]["message"] == "The echo service is unavailable."
    assert "127.0.0.1" not in response_text(body)

    stack.processes["auth"].kill()
    body = stack.graphql("{ me { id } echoHeaders { name } }", token=user["token"]).json()
    # Nothing answered: Hive Gateway then leaves `data` out rather than send all nulls (Apollo
    # Gateway sends the nulls).
    assert body.get("data") in (None, {"me": None, "echoHeaders": None})
    assert {error["extensions"]["serviceName"] for error in body["errors"]} == {"auth", ECHO}


# --- document limits at the router -----------------------------------------------------------


def nested_doctor_query(depth: int) -> str:
    """`{ me { doctorProfile { user { doctorProfile { ... { id } } } } } }`: `depth` fields that select
    fields (depth as the router and the subgraphs count it: the leaf `id` adds none)."""
    selection = "id"
    for level in reversed(range(depth - 1)):
        selection = f"{'doctorProfile' if level % 2 == 0 else 'user'} {{ {selection} }}"
    return f"{{ me {{ {selection} }} }}"


@HIVE_ONLY  # Hive Gateway's limit plugins (depth-limit.ts, alias-limit.ts, maxTokens)
@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (nested_doctor_query(16), "depth"),
        ("{ me { " + " ".join(["id"] * 5_000) + " } }", "token"),
        ("{ me { " + " ".join(f"a{i}: id" for i in range(31)) + " } }", "aliases"),
        # Fragments count at every spread: 4 aliases x 8 spreads.
        (
            "fragment F on User { a: id b: id c: id d: id } { me { ...F ...F ...F ...F ...F ...F ...F ...F } }",
            "aliases",
        ),
    ],
    ids=["depth-16", "5000-tokens", "31-aliases", "aliases-in-fragments"],
)
def test_the_router_refuses_hostile_documents_before_asking_a_subgraph(stack: Stack, query: str, limit: str):
    user = stack.register_and_login()
    rid = request_id()
    marks = {name: stack.processes[name].mark() for name in registry.SUBGRAPHS}

    response = stack.graphql(query, token=user["token"], headers={"x-request-id": rid})

    body = response.json()
    assert body.get("data") is None and body["errors"], body
    assert limit in body["errors"][0]["message"].lower(), body
    assert {name: stack.graphql_fetches(name, rid, since=mark) for name, mark in marks.items()} == {
        name: [] for name in registry.SUBGRAPHS
    }


@HIVE_ONLY  # Hive Gateway's limit plugins, as above
def test_the_router_admits_a_document_at_its_depth_and_alias_limits(stack: Stack):
    user = stack.register_and_login()
    body = stack.graphql(nested_doctor_query(15), token=user["token"]).json()
    assert body.get("data") == {"me": {"doctorProfile": None}}, body
    thirty = "{ me { " + " ".join(f"a{i}: id" for i in range(30)) + " } }"
    body = stack.graphql(thirty, token=user["token"]).json()
    assert body.get("data", {}).get("me", {}).get("a29") == user["id"], body
