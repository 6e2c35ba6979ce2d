"""The count goals of the benchmark, asserted as counts through the real router.

A small seeded stack (production mode, Hive Gateway in front) answers the patient's dashboard and
the doctor's day at n = 10, 100 and 1,000 (ten pages of 100: the API caps lists at 100). The SQL
statements the services run and the subgraph fetches the router makes, per HTTP request of the
client, must not depend on n. No clock is read for any assertion.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from subgraphs.cli import registry
from subgraphs.cli.bench import scenarios, seed
from subgraphs.cli.bench.runner import Counters, counts_between
from subgraphs.cli.bench.stack import BenchStack, Databases

from ..e2e.stack import require_router_packages

pytestmark = pytest.mark.e2e

SIZES = (10, 100, 1000)
PLAN = seed.Plan(
    doctors=6, patients=30, appointments=600, prescriptions=300, bench_patients=2, bench_doctors=2, per_bench_user=1020
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, bench_database):
    require_router_packages()
    kind, base = bench_database
    directory = Path(tmp_path_factory.mktemp("bench-stack"))
    databases = Databases(kind, directory, base_url=base)
    # No account recheck during the test: it is periodic, not per request (the bench reports it apart).
    running = BenchStack(directory, databases, extra_env={"ACCOUNT_RECHECK_SECONDS": "3600"})
    try:
        urls = databases.create([name for name, s in registry.SUBGRAPHS.items() if s.owns_tables])
        running.start(on_line=lambda _line: None)
        patients, doctors = seed.register_real_users(
            PLAN, running.url("auth"), running.url("appointments"), uuid.uuid4().hex[:8]
        )
        counts = seed.bulk_load(PLAN, urls, patients, doctors)
        yield running, seed.SeedResult(patients, doctors, counts)
    finally:
        running.stop()
        databases.drop()


async def _per_request_counts(stack: BenchStack, seeded, operation) -> dict[int, dict]:
    found = {}
    async with httpx.AsyncClient(timeout=60) as client:
        urls = {name: stack.url(name) for name in [*registry.SUBGRAPHS, "router"]}
        tokens = scenarios.Tokens(urls["auth"], client, seed.PASSWORD)
        ctx = scenarios.Context(client, urls, stack.secret, "x-router-secret", tokens, seeded)
        for user in [*seeded.patients, *seeded.doctors]:
            await tokens.of(user)
        counters = Counters(client, stack)
        for n in SIZES:
            for index in range(4):  # warm: plans, caches, connections, every user's token
                await operation(ctx, n, index)
            before = await counters.read()
            requests = 0
            for index in range(1, 4):
                requests += await operation(ctx, n, index)
            await asyncio.sleep(0.3)
            after = await counters.read()
            counted = counts_between(before, after, ops=3, requests=requests)
            found[n] = {
                "requests_per_op": requests / 3,
                "sql": counted["per_request"]["sql"],
                "graphql_fetches": counted["per_request"]["graphql_fetches"],
                "calls": counted["per_request"]["calls"],
                "by_service": {
                    name: (round(service["sql"] * 3 / requests, 3), round(service["graphql_fetches"] * 3 / requests, 3))
                    for name, service in counted["per_service_per_op"].items()
                },
            }
    return found


def _assert_constant(found: dict[int, dict]) -> None:
    first = found[SIZES[0]]
    assert first["sql"] > 0 and first["graphql_fetches"] > 0, found
    for n in SIZES[1:]:
        assert found[n]["sql"] == first["sql"], found
        assert found[n]["graphql_fetches"] == first["graphql_fetches"], found
        assert found[n]["by_service"] == first["by_service"], found
    assert found[1000]["requests_per_op"] == 10, found  # ten pages of 100


def test_dashboard_sql_and_fetches_per_request_do_not_grow_with_the_list(stack):
    running, seeded = stack
    found = asyncio.run(_per_request_counts(running, seeded, scenarios.dashboard_router))

    _assert_constant(found)
    # me, then User.appointments, then Doctor.user and Appointment.prescriptions: four fetches.
    assert found[10]["graphql_fetches"] == 4, found


def test_doctors_day_sql_and_fetches_per_request_do_not_grow_with_the_list(stack):
    running, seeded = stack
    found = asyncio.run(_per_request_counts(running, seeded, scenarios.doctor_day_router))

    _assert_constant(found)
    # the appointments, then the patients' names (auth, which asks appointments who is in care)
    assert found[10]["graphql_fetches"] == 2, found


def test_the_graphql_list_argument_is_capped_like_rest(stack):
    # The bench pages n = 1,000 in requests of 100 because the API caps every list at 100: a
    # bigger `limit` is cut, not refused, on GraphQL as on REST.
    running, seeded = stack

    async def ask() -> int:
        async with httpx.AsyncClient(timeout=60) as client:
            tokens = scenarios.Tokens(running.url("auth"), client, seed.PASSWORD)
            token = await tokens.of(seeded.patients[0])
            response = await client.post(
                f"{running.url('router')}/graphql",
                json={"query": scenarios.DASHBOARD, "variables": {"limit": 1000, "offset": 0}},
                headers={"authorization": f"Bearer {token}"},
            )
            return len(response.json()["data"]["me"]["appointments"])

    assert asyncio.run(ask()) == scenarios.PAGE
