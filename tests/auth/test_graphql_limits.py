"""Hostile documents are refused by the subgraph itself (the router's limits need a licence)."""

from __future__ import annotations

import uuid

from graphql import get_introspection_query

from ..conftest import ROUTER_HEADERS, running
from .conftest import PRODUCTION_SECRET, AuthApi, production_overrides


def nested_type_query(depth: int) -> str:
    inner = "name"
    for _ in range(depth):
        inner = f"ofType {{ {inner} }}"
    return f'{{ __type(name: "User") {{ fields {{ type {{ {inner} }} }} }} }}'


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


async def test_the_standard_introspection_query_is_admitted_in_development(auth: AuthApi):
    result = await auth.gql(get_introspection_query(descriptions=True))
    assert "errors" not in result
    assert any(t["name"] == "User" for t in result["data"]["__schema"]["types"])


async def test_too_deep_is_refused(make_auth_app):
    # The auth schema alone nests only two levels, so the limit is lowered to show the mechanism;
    # introspection fields are not counted (tools need them deep at build time).
    app = make_auth_app(graphql_max_depth=0)
    async for client in running(app):
        api = AuthApi(client, app)
        _user, token = await api.user_with_token()
        result = await api.gql("{ me { id } }", token=token)
        assert result["data"] is None
        assert "exceeds maximum operation depth" in result["errors"][0]["message"]
        assert codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
        assert "errors" not in await api.gql(nested_type_query(20))


async def test_too_many_aliases_even_through_fragments_is_refused(auth: AuthApi):
    spread = " ".join(f"a{n}: __typename" for n in range(20))
    query = (
        f"query {{ ...F ...G }} fragment F on Query {{ {spread} }} fragment G on Query {{ {spread.replace('a', 'b')} }}"
    )
    result = await auth.gql(query)
    assert result["data"] is None
    assert "aliases" in result["errors"][0]["message"]


async def test_too_many_root_fields_is_refused(auth: AuthApi):
    _user, token = await auth.user_with_token()
    query = "{ " + " ".join(f"m{n}: me {{ id }}" for n in range(21)) + " }"
    result = await auth.gql(query, token=token)
    assert result["data"] is None
    assert "root fields" in result["errors"][0]["message"]
    ok = await auth.gql("{ " + " ".join(f"m{n}: me {{ id }}" for n in range(3)) + " }", token=token)
    assert "errors" not in ok


async def test_too_many_tokens_is_refused(auth: AuthApi):
    query = "{ " + " ".join("__typename" for _ in range(6000)) + " }"
    result = await auth.gql(query)
    assert result["data"] is None
    assert "token" in result["errors"][0]["message"].lower()


async def test_batched_operations_are_refused(auth: AuthApi):
    response = await auth.client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}], headers=ROUTER_HEADERS
    )
    assert response.status_code == 400


async def test_router_entity_fetches_for_many_keys_are_admitted(auth: AuthApi):
    representations = [{"__typename": "User", "id": str(uuid.uuid4())} for _ in range(200)]
    result = await auth.gql(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id fullName } } }",
        {"r": representations},
    )
    assert result["data"] is not None, result["errors"][:1]
    assert len(result["data"]["_entities"]) == 200  # refused as not visible, not as too big
    assert set(codes(result)) == {"UNAUTHENTICATED"}


async def test_introspection_is_off_in_production_but_the_router_still_gets_the_sdl(make_auth_app):
    app = make_auth_app(**production_overrides())
    async for client in running(app):
        api = AuthApi(client, app, router_headers={"x-router-secret": PRODUCTION_SECRET})
        result = await api.gql("{ __schema { types { name } } }")
        assert result["data"] is None
        assert "introspection" in result["errors"][0]["message"].lower()
        sdl = await api.gql("{ _service { sdl } }")
        assert "type User" in sdl["data"]["_service"]["sdl"]


async def test_a_repeated_document_is_validated_once_with_every_limit_still_applied(auth: AuthApi, monkeypatch):
    """The validation cache is keyed by the document and the rule classes: the limits' rules
    must be the same classes on every request (built once), or every request validates again."""
    import strawberry.schema.schema as strawberry_schema

    validations: list[tuple] = []
    real_validate = strawberry_schema.validate

    def counting_validate(schema, document, rules, *args, **kwargs):
        validations.append(tuple(rule.__name__ for rule in rules))
        return real_validate(schema, document, rules, *args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting_validate)
    _user, token = await auth.user_with_token()
    # Unique text: no earlier test can have filled the cache for it.
    query = f"query Once{uuid.uuid4().hex} {{ me {{ id }} }}"
    for _ in range(3):
        result = await auth.gql(query, token=token)
        assert "errors" not in result, result

    assert len(validations) == 1
    assert {"DepthLimitValidator", "MaxAliasesValidator", "RootFieldLimit"} <= set(validations[0])
