"""No "Did you mean ...?" from a subgraph: graphql-core suggests fields, arguments, types, input
fields and enum values, and each would name a part of the schema that introspection hides. Nor is a
rejected value quoted back: it may hold a password."""

from __future__ import annotations

import json

import pytest

from ..conftest import running
from .conftest import PRODUCTION_SECRET, AuthApi, production_overrides

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { id } }"
PASSWORD = "correct horse battery"
NEW_USER = {"email": "someone@example.org", "password": PASSWORD, "fullName": "Some One"}

# (query, variables): each one would be answered with a suggestion by graphql-core.
TYPOS = {
    "field": ("{ me { fullNam } }", None),
    "argument": ('{ user(idd: "1") { id } }', None),
    "type-in-fragment": ("query { me { ...F } } fragment F on Usr { id }", None),
    "enum-value-literal": (
        f'mutation {{ register(input: {{email: "a@example.org", password: "{PASSWORD}", '
        'fullName: "A", role: PATIEN}) { id } }',
        None,
    ),
    "enum-value-variable": (REGISTER, {"input": {**NEW_USER, "role": "PATIEN"}}),
    "input-field-literal": (
        f'mutation {{ register(input: {{emal: "a@example.org", password: "{PASSWORD}", fullName: "A"}}) {{ id }} }}',
        None,
    ),
    "input-field-variable": (REGISTER, {"input": {**NEW_USER, "emal": "a@example.org"}}),
}


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize("typo", list(TYPOS))
async def test_no_error_suggests_a_name(make_auth_app, environment: str, typo: str):
    overrides = production_overrides() if environment == "production" else {}
    app = make_auth_app(**overrides)
    router_headers = {"x-router-secret": PRODUCTION_SECRET} if environment == "production" else None
    query, variables = TYPOS[typo]
    async for client in running(app):
        api = AuthApi(client, app, router_headers=router_headers)
        result = await api.gql(query, variables)

    assert result.get("data") is None and result["errors"], result
    assert {error["extensions"]["code"] for error in result["errors"]} <= {
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_USER_INPUT",
    }, result
    answer = json.dumps(result)
    assert "did you mean" not in answer.lower(), result
    assert PASSWORD not in answer, result
