"""What Hive Gateway (router/gateway.config.ts) refuses before any subgraph is asked, and how a
refusal reads: depth counted as the subgraphs count it, the request-body limit, a subgraph's own
413, no suggestions in production, and introspection beside other root fields in development.

Hive Gateway only (the session stack's `router_url`): these are its own plugins (depth-limit.ts,
body-limit.ts, no-suggestions.ts, introspection-beside-fields.ts), which Apollo Gateway, a test
router, does not reproduce; the subgraphs enforce the same limits behind either."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from graphql import get_introspection_query

from subgraphs.cli import registry

from .stack import HTTP_TIMEOUT, Stack

pytestmark = pytest.mark.e2e

MAX_DEPTH = 15  # ROUTER_MAX_DEPTH and GRAPHQL_MAX_DEPTH by default
MAX_BODY_BYTES = 1_000_000  # MAX_BODY_BYTES, the router's and every subgraph's default


def request_id() -> str:
    return f"e2e-{uuid.uuid4().hex}"


def codes(body: dict) -> set[str]:
    return {error.get("extensions", {}).get("code") for error in body.get("errors", [])}


def no_subgraph_was_asked(stack: Stack, rid: str, marks: dict[str, int]) -> bool:
    return all(stack.graphql_fetches(name, rid, since=mark) == [] for name, mark in marks.items())


def marks(stack: Stack) -> dict[str, int]:
    return {name: stack.processes[name].mark() for name in registry.SUBGRAPHS}


# --- depth -----------------------------------------------------------------------------------


def doctor_chain(depth: int, fragments: int = 0, *, inline: bool = False) -> str:
    """`query Chain($id: ID!) { doctor(id: $id) { user { doctorProfile { ... { id } } } } }` with
    `depth` fields that select fields (the depth as the subgraphs count it). The selection sets of
    `fragments` of those fields are named fragments, each spread inside the one before (or inline
    fragments, with `inline`)."""
    fields = ["doctor(id: $id)"] + ["user" if level % 2 else "doctorProfile" for level in range(1, depth)]
    types = ["User" if level % 2 else "Doctor" for level in range(depth)]
    wrapped = {round((n + 1) * depth / (fragments + 1)) for n in range(fragments)}
    assert len(wrapped) == fragments
    selection, definitions = "id", []
    for level in reversed(range(depth)):
        if level in wrapped:
            if inline:
                selection = f"... on {types[level]} {{ {selection} }}"
            else:
                definitions.append(f"fragment Level{level} on {types[level]} {{ {selection} }}")
                selection = f"...Level{level}"
        selection = f"{fields[level]} {{ {selection} }}"
    return " ".join([f"query Chain($id: ID!) {{ {selection} }}", *definitions])


def refused_for_depth(body: dict) -> bool:
    return body.get("data") is None and any("depth" in error["message"] for error in body.get("errors", []))


DEPTH_CASES = {
    "15": (doctor_chain(15), False),
    "16": (doctor_chain(16), True),
    "15-through-3-nested-fragments": (doctor_chain(15, 3), False),
    "16-through-3-nested-fragments": (doctor_chain(16, 3), True),
    "11-through-3-nested-fragments": (doctor_chain(11, 3), False),
    "15-through-inline-fragments": (doctor_chain(15, 3, inline=True), False),
    "16-through-inline-fragments": (doctor_chain(16, 3, inline=True), True),
}


@pytest.fixture(scope="module")
def doctor(stack: Stack) -> dict:
    """A doctor with a profile: the chain of `doctor_chain` resolves all the way down."""
    user = stack.register_and_login("DOCTOR")
    profile = stack.data(
        "mutation Profile($input: DoctorInput!) { createDoctorProfile(input: $input) { id } }",
        {
            "input": {
                "displayName": "Dr. Depth",
                "specialty": "cardiology",
                "licenseNumber": f"LIC-{uuid.uuid4().hex[:8]}",
            }
        },
        token=user["token"],
    )["createDoctorProfile"]
    return {**user, "profile_id": profile["id"]}


@pytest.mark.parametrize("case", list(DEPTH_CASES))
def test_the_router_and_the_subgraphs_count_depth_alike(stack: Stack, doctor: dict, case: str):
    query, too_deep = DEPTH_CASES[case]
    variables = {"id": doctor["profile_id"]}
    rid, before = request_id(), marks(stack)

    through_router = stack.graphql(query, variables, token=doctor["token"], headers={"x-request-id": rid}).json()
    # The same document sent straight to the subgraph that owns every field of it.
    direct = httpx.post(
        f"http://127.0.0.1:{stack.subgraph_ports['appointments']}/graphql",
        json={"query": query, "variables": variables},
        headers={"x-router-secret": stack.secret, "authorization": f"Bearer {doctor['token']}"},
        timeout=HTTP_TIMEOUT,
    ).json()

    assert refused_for_depth(through_router) is too_deep, through_router
    assert refused_for_depth(direct) is too_deep, direct
    if too_deep:
        assert codes(through_router) == {"GRAPHQL_VALIDATION_FAILED"}, through_router
        assert f"depth {MAX_DEPTH + 1}" in through_router["errors"][0]["message"], through_router
        assert no_subgraph_was_asked(stack, rid, before)
    else:
        assert "errors" not in through_router and "errors" not in direct, (through_router, direct)
        assert doctor["profile_id"] in json.dumps(through_router)  # the chain resolved to its leaf
        assert through_router == direct


def test_introspection_is_not_counted_so_tools_can_introspect_in_development(stack: Stack):
    standard = stack.graphql(get_introspection_query(descriptions=True)).json()
    deep_type = 'query { __type(name: "User") { fields { type { ' + "ofType { " * 20 + "name" + " }" * 20 + " } } } }"

    assert "errors" not in standard, standard["errors"]
    assert any(entry["name"] == "Doctor" for entry in standard["data"]["__schema"]["types"])
    assert stack.data(deep_type)["__type"]["fields"]


# --- the request body ------------------------------------------------------------------------


def padded(query: str, size: int) -> bytes:
    """A GraphQL request of exactly `size` bytes: `query`, then spaces inside the JSON object."""
    body = json.dumps({"query": query}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def chunked(body: bytes, size: int = 64 * 1024):
    """`body` sent in pieces without a Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def post(url: str, content, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        content=content,
        headers={"content-type": "application/json", **headers},
        timeout=HTTP_TIMEOUT,
    )


@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413_before_any_subgraph_is_asked(stack: Stack, transfer: str):
    user = stack.register_and_login()
    body = padded("{ me { id } }", MAX_BODY_BYTES + 1)
    rid, before = request_id(), marks(stack)

    response = post(
        stack.router_url,
        body if transfer == "content-length" else chunked(body),
        authorization=f"Bearer {user['token']}",
        **{"x-request-id": rid},
    )

    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert str(MAX_BODY_BYTES) in response.json()["errors"][0]["message"]
    assert no_subgraph_was_asked(stack, rid, before)


@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_a_body_at_the_limit_is_answered(stack: Stack, transfer: str):
    user = stack.register_and_login()
    body = padded("{ me { id } }", MAX_BODY_BYTES)

    response = post(
        stack.router_url,
        body if transfer == "content-length" else chunked(body),
        authorization=f"Bearer {user['token']}",
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"id": user["id"]}}}


@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_ten_megabytes_are_refused_unread(stack: Stack, transfer: str):
    # Not JSON at all: a router that parsed it would answer 400 for the syntax, not 413.
    body = b"{" * 10_000_000

    response = post(stack.router_url, body if transfer == "content-length" else chunked(body))

    assert response.status_code == 413, response.text[:500]
    assert codes(response.json()) == {"PAYLOAD_TOO_LARGE"}


def test_a_subgraphs_own_413_reaches_the_client_as_payload_too_large(stack: Stack):
    # A router that admits more than auth does (its limit raised above the subgraphs' one).
    _router, url = stack.start_router(MAX_BODY_BYTES=str(5 * MAX_BODY_BYTES))
    rid, mark = request_id(), stack.processes["auth"].mark()

    response = stack.graphql(
        "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }",
        {"email": "someone@example.org", "password": "x" * 3_000_000},
        headers={"x-request-id": rid},
        url=url,
    )

    assert response.status_code == 200, response.text[:500]
    errors = response.json()["errors"]
    assert [error["extensions"] for error in errors] == [{"code": "PAYLOAD_TOO_LARGE", "serviceName": "auth"}]
    assert errors[0]["message"] == "The request is too large for the auth service."
    assert [fetch["status"] for fetch in stack.graphql_fetches("auth", rid, since=mark)] == [413]


# --- suggestions -----------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"
REGISTER = "mutation Register($input: RegisterInput!) { register(input: $input) { id } }"
NEW_USER = {"email": "someone@example.org", "password": PASSWORD, "fullName": "Some One"}

# (query, variables): each one is answered with a "Did you mean ...?" by graphql-js.
TYPOS = {
    "field": ("{ doctors { displayNam } }", None),
    "argument": ("{ doctors(limt: 1) { id } }", None),
    "type-in-fragment": ("query { me { ...F } } fragment F on Usr { id }", None),
    "enum-value-literal": ("{ appointments(status: BOOKD) { id } }", None),
    "enum-value-variable": (
        "query Mine($status: AppointmentStatus) { appointments(status: $status) { id } }",
        {"status": "BOOKD"},
    ),
    "input-field-literal": (
        f'mutation {{ register(input: {{emal: "a@example.org", password: "{PASSWORD}", fullName: "A"}}) {{ id }} }}',
        None,
    ),
    "input-field-variable": (REGISTER, {"input": {**NEW_USER, "emal": "a@example.org"}}),
    "enum-value-in-input-variable": (REGISTER, {"input": {**NEW_USER, "role": "PATIEN"}}),
}


@pytest.fixture(scope="module")
def production_router(stack: Stack) -> str:
    _router, url = stack.start_router(HEALTHCARE_ENV="production")
    return url


@pytest.mark.parametrize("typo", list(TYPOS))
def test_production_suggests_no_name_of_any_kind(stack: Stack, production_router: str, typo: str):
    query, variables = TYPOS[typo]

    development = stack.graphql(query, variables).json()
    production = stack.graphql(query, variables, url=production_router).json()

    # The typo is one graphql-js answers with a suggestion: development shows it.
    assert "Did you mean" in json.dumps(development), development
    assert production.get("data") is None and production["errors"], production
    assert "did you mean" not in json.dumps(production).lower(), production
    assert codes(production) <= {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}, production
    # A rejected value is never quoted back: it may hold a password.
    assert PASSWORD not in json.dumps(production), production


# --- introspection beside other root fields --------------------------------------------------

ME = "me { id }"
# (query, its root response keys in the document's order)
BESIDE = {
    "root-fields": (f"query {{ __schema {{ queryType {{ name }} }} {ME} }}", ["__schema", "me"]),
    "in-a-root-fragment": (
        f"query {{ ...Both }} fragment Both on Query {{ __schema {{ queryType {{ name }} }} {ME} }}",
        ["__schema", "me"],
    ),
    "type-in-an-inline-fragment": (
        f'query {{ {ME} ... on Query {{ __type(name: "User") {{ name }} }} }}',
        ["me", "__type"],
    ),
}


@pytest.mark.parametrize("shape", list(BESIDE))
def test_development_answers_introspection_beside_other_root_fields(stack: Stack, shape: str):
    query, keys = BESIDE[shape]
    user = stack.register_and_login()
    answers = {"__schema": {"queryType": {"name": "Query"}}, "__type": {"name": "User"}, "me": {"id": user["id"]}}

    body = stack.graphql(query, token=user["token"]).json()

    assert body == {"data": {key: answers[key] for key in keys}}, body
    assert list(body["data"]) == keys


def test_production_refuses_introspection_beside_other_root_fields_and_asks_no_subgraph(
    stack: Stack, production_router: str
):
    user = stack.register_and_login()
    rid, before = request_id(), marks(stack)

    body = stack.graphql(
        BESIDE["root-fields"][0], token=user["token"], headers={"x-request-id": rid}, url=production_router
    ).json()

    assert body.get("data") is None, body
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}, body
    assert user["id"] not in json.dumps(body)
    assert no_subgraph_was_asked(stack, rid, before)
