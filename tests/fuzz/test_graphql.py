"""GraphQL fuzzing of every subgraph (hypothesis-graphql), with the router secret, as each role.

Every root field of Query and Mutation, `_entities` with representations of every entity
type, valid and invalid documents (deterministic seed). Whatever comes in, a subgraph answers
200 with data or errors: never a 5xx, never a masked INTERNAL_SERVER_ERROR (which would be an
unexpected exception in a resolver), never a traceback.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import graphql
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_graphql import Mode, mutations, nodes, queries

from subgraphs.cli import registry
from subgraphs.kit.settings import DEV_ROUTER_SECRET

from .live import EXAMPLES, ROLES, LiveSystem
from .report import FuzzReport


def scalars(schema: graphql.GraphQLSchema, live: LiveSystem) -> dict:
    """Values for the custom scalars: mostly well-formed, sometimes not; ids that exist, sometimes."""
    entity = schema.type_map.get("_Entity")
    typenames = [member.name for member in entity.types] if entity else ["User"]
    ids = st.sampled_from(sorted(live.ids.values())) | st.uuids().map(str) | st.text(max_size=40)
    representation = st.builds(
        lambda typename, key: nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value="__typename"), value=nodes.String(typename)),
                graphql.ObjectFieldNode(name=graphql.NameNode(value="id"), value=nodes.String(key)),
            ]
        ),
        st.sampled_from(typenames),
        ids,
    )
    # The whole range Python allows, with offsets as far as they go: the edges overflow in UTC.
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])
    instants = st.datetimes(timezones=offsets).map(lambda value: value.isoformat())
    return {
        "_Any": representation | st.text(max_size=20).map(nodes.String),
        "DateTime": (instants | st.text(max_size=30)).map(nodes.String),
        "Date": (st.dates().map(str) | st.text(max_size=12)).map(nodes.String),
        "ID": ids.map(nodes.String),
    }


def server_errors(response) -> list[str]:
    if response.status_code >= 500:
        return [f"status {response.status_code}"]
    if "Traceback" in response.text:
        return ["a traceback in the answer"]
    try:
        body = response.json()
    except ValueError:
        return [f"not JSON ({response.status_code}): {response.text[:200]}"]
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    return [f"INTERNAL_SERVER_ERROR at {error.get('path')}" for error in errors
            if error.get("extensions", {}).get("code") == "INTERNAL_SERVER_ERROR"]  # fmt: skip


def run_field(
    live: LiveSystem, report: FuzzReport, service: str, label: str, strategy, headers: dict, *, negative: bool
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same documents on every run: a failure reproduces
        database=None,
        phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(document=strategy)
    def examples(document: str) -> None:
        response = live.request(service, method="POST", url="/graphql", json={"query": document}, headers=headers)
        report.examples += 1
        report.statuses[response.status_code] += 1
        for problem in server_errors(response):
            report.add_failure(f"{label}: {problem}\n{document}\n{response.text[:500]}")

    try:
        examples()
    except InvalidArgument:
        if not negative:  # a field without arguments has nothing to make invalid
            raise


@pytest.mark.parametrize("service", list(registry.SUBGRAPHS))
def test_graphql_fuzz(live: LiveSystem, service: str, backend: str):
    schema = registry.SUBGRAPHS[service].schema()._schema
    custom = scalars(schema, live)
    report = FuzzReport("graphql", service, backend)
    roots = [("query", queries, name) for name in schema.query_type.fields]
    roots += [("mutation", mutations, name) for name in (schema.mutation_type.fields if schema.mutation_type else {})]
    for kind, make, name in roots:
        report.operations.add(f"{kind} {name}")
        for role in ROLES:
            headers = {"x-router-secret": DEV_ROUTER_SECRET, **live.headers[role]}
            for mode in (Mode.POSITIVE, Mode.NEGATIVE):
                strategy = make(schema, fields=[name], custom_scalars=custom, mode=mode)

                label = f"{kind} {name} as {role}"
                run_field(live, report, service, label, strategy, headers, negative=mode is Mode.NEGATIVE)
    print(f"\n{report.summary()}")
    report.save()
    assert not report.failures, "\n\n".join(report.failures)
