"""The static cost model (kit/graphql_cost.py), on the composed supergraph and the subgraphs' own schemas."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLList,
    build_ast_schema,
    get_named_type,
    get_nullable_type,
    is_introspection_type,
    parse,
)

from subgraphs.cli import registry
from subgraphs.cli.processes import PROJECT_DIR
from subgraphs.kit.graphql_cost import DEFAULT_MAX_COST, OperationCost
from subgraphs.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT

from ..costs import nested, nested_cost, readme_operations

PAGE = DEFAULT_LIMIT
SCHEMA_DIR = PROJECT_DIR / "schema"


@pytest.fixture(scope="module")
def supergraph():
    """The schema the router serves, with the @cost/@listSize that composition kept."""
    return build_ast_schema(parse((SCHEMA_DIR / "supergraph.graphql").read_text()), assume_valid_sdl=True)


def cost(schema, query: str, variables: dict | None = None) -> int:
    return OperationCost().estimate(schema, parse(query), variables)


# --- the README's operations -----------------------------------------------------------------


def test_every_readme_operation_fits_with_room_to_spare(supergraph):
    operations = readme_operations()
    assert {"Dashboard", "Day", "Book", "Prescribe", "Admin", "curl example"} <= set(operations)

    costs = {name: cost(supergraph, source) for name, source in operations.items()}

    print("\nestimated cost of the README's operations (whole operation, supergraph):")
    for name, estimated in costs.items():
        print(f"  {name:<14} {estimated:>6}  (maximum {DEFAULT_MAX_COST})")
    # The whole operation's count bounds what the router sums and what each subgraph is sent.
    assert all(estimated <= DEFAULT_MAX_COST // 5 for estimated in costs.values()), costs
    assert costs["Dashboard"] > costs["curl example"] > 0  # limit: 10 against limit: 5


def test_the_amplification_of_appointments_and_doctors_is_refused(supergraph):
    # The reproduction: 13 levels of fields, under the depth limit of 15, six lists of 50.
    query = nested(6, root="me")
    assert query.count("{") == 13

    estimated = cost(supergraph, query)

    assert estimated == 1 + nested_cost(6, PAGE)  # `me`, then the lists
    assert estimated > DEFAULT_MAX_COST * 1000


# --- how lists are sized ---------------------------------------------------------------------


def test_a_smaller_limit_lowers_the_cost(supergraph):
    query = "{ appointments%s { id doctor { displayName } } }"

    assert cost(supergraph, query % "") == 2 * PAGE
    assert cost(supergraph, query % "(limit: 5)") == 2 * 5
    assert cost(supergraph, nested(6, limit=2)) == nested_cost(6, 2) < DEFAULT_MAX_COST


def test_a_limit_from_a_variable_counts_its_value(supergraph):
    query = "query($n: Int) { doctors(limit: $n) { id } }"
    costs = OperationCost()
    document = parse(query)

    assert costs.estimate(supergraph, document, {"n": 3}, text=query) == 3
    assert costs.estimate(supergraph, document, {"n": 80}, text=query) == 80  # same text, new variables
    assert costs.estimate(supergraph, document, {}, text=query) == PAGE  # the argument's default
    assert cost(supergraph, "query($n: Int = 7) { doctors(limit: $n) { id } }") == 7


def test_a_limit_counts_what_the_resolvers_return_at_most(supergraph):
    assert cost(supergraph, "{ doctors(limit: 1000000) { id } }") == MAX_LIMIT
    assert cost(supergraph, "{ doctors(limit: 0) { id } }") == 1
    assert cost(supergraph, "{ doctors(limit: null) { id } }") == PAGE


def test_entities_count_their_representations():
    schema = registry.SUBGRAPHS["appointments"].schema()._schema
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Doctor { appointments(limit: 10) { id } } } }"
    )

    def with_representations(count: int) -> int:
        return cost(schema, query, {"r": [{"__typename": "Doctor", "id": str(n)} for n in range(count)]})

    assert with_representations(1) == 1 + 10
    assert with_representations(100) == 100 * (1 + 10)
    inline = '{ _entities(representations: [{__typename: "Doctor", id: "1"}, {__typename: "Doctor", id: "2"}]) { __typename } }'
    assert cost(schema, inline) == 2


def test_fields_merged_by_execution_count_once(supergraph):
    one = "{ appointments(limit: 4) { doctor { id displayName } } }"
    spread = (
        "fragment F on Appointment { doctor { id } } { appointments(limit: 4) { ...F ...F doctor { displayName } } }"
    )
    aliased = "{ appointments(limit: 4) { a: doctor { id } b: doctor { id } } }"

    assert cost(supergraph, spread) == cost(supergraph, one) == 4 + 4
    assert cost(supergraph, aliased) == 4 + 4 + 4  # two response keys: resolved twice


def test_scalars_and_introspection_cost_nothing(supergraph):
    assert cost(supergraph, "{ __typename }") == 0
    assert cost(supergraph, "{ __schema { types { name fields { name } } } }") == 0
    assert cost(supergraph, "{ doctors(limit: 2) { workingHours { weekday } } }") == 2 + 2 * 28


def test_a_mutation_has_no_base_cost(supergraph):
    # As Hive Gateway counts it: the payload object only.
    assert cost(supergraph, "mutation { cancelAppointment(id: 1) { id } }") == 1


# --- the schemas carry the model ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(registry.SUBGRAPHS))
def test_every_list_field_says_how_long_it_is(name):
    """The router sizes an unannotated list as 1 and a subgraph as a page: every list carries
    @listSize, so that both count the same."""
    schema = registry.SUBGRAPHS[name].schema()
    unsized = []
    for type_ in schema._schema.type_map.values():
        if is_introspection_type(type_) or not hasattr(type_, "fields") or not hasattr(type_, "interfaces"):
            continue
        for field_name, field in type_.fields.items():
            if not isinstance(get_nullable_type(field.type), GraphQLList) or field_name == "_entities":
                continue
            definition = field.extensions["strawberry-definition"]
            if not any(type(directive).__name__ == "ListSize" for directive in definition.directives):
                unsized.append(f"{type_.name}.{field_name}: [{get_named_type(field.type).name}]")
    assert unsized == []


@pytest.mark.parametrize(
    ("subgraph", "query"),
    [
        ("appointments", "{ doctors(limit: 3) { workingHours { start } appointments(limit: 4) { doctor { id } } } }"),
        ("prescriptions", "{ prescriptions(limit: 7) { id patient { id } } }"),
        ("admin", "{ adminUsers(limit: 9) { id } }"),
    ],
)
def test_the_code_the_subgraph_sdl_and_the_supergraph_give_one_estimate(supergraph, subgraph, query):
    code = registry.SUBGRAPHS[subgraph].schema()._schema
    sdl = build_ast_schema(parse((SCHEMA_DIR / f"{subgraph}.graphql").read_text()), assume_valid_sdl=True)

    assert cost(code, query) == cost(sdl, query) == cost(supergraph, query) > 1
