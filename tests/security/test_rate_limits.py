"""Rate limits: registration per address, login per account and address, booking per patient.

Counted per call, so aliases in one GraphQL document count like separate requests;
refused with 429 + Retry-After (REST) or TOO_MANY_REQUESTS + retryAfter (GraphQL).
With REDIS_URL the counters live in Redis and every replica enforces one limit:
the tests below run two app instances against the real Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from sqlalchemy import text

from subgraphs.appointments.app import create_app as create_appointments
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.kit.errors import TooManyRequests
from subgraphs.kit.jwt import StaticKeys
from subgraphs.kit.ratelimit import MemoryCounter, RateLimit, RedisCounter, counter_from_settings

from ..appointments.conftest import WEEKDAYS_9_TO_5, AppointmentsApi, at, iso, monday
from ..auth.conftest import AuthApi, make_auth_app  # noqa: F401 - fixture
from ..conftest import ROUTER_HEADERS, running
from ..tokens import mint, new_keys

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_REQUIRED = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { id } }"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_prefix():
    """A key prefix of this test's own on the real Redis, removed afterwards."""
    from redis import asyncio as redis_asyncio
    from redis.exceptions import RedisError

    client = redis_asyncio.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        if REDIS_REQUIRED:
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({exc}); set TEST_REDIS_URL to run these")
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def shared(prefix: str) -> dict:
    return {"redis_url": REDIS_URL, "rate_limit_prefix": prefix}


# -- the counters ------------------------------------------------------------------------------


async def test_a_limit_refuses_the_hit_over_it_with_the_seconds_left():
    clock = Clock()
    limit = RateLimit(MemoryCounter(clock), "test", limit=2, window_seconds=60)
    await limit.hit("a")
    clock.now += 10
    await limit.hit("a")
    await limit.hit("b")  # another key, its own count
    with pytest.raises(TooManyRequests) as refused:
        await limit.hit("a")
    assert refused.value.retry_after == 50 and refused.value.code == "TOO_MANY_REQUESTS"
    clock.now += 50  # the window ends
    await limit.hit("a")


async def test_redis_counts_atomically_and_the_window_expires(redis_prefix):
    counter = RedisCounter.from_url(REDIS_URL, prefix=redis_prefix)
    try:
        windows = await asyncio.gather(*(counter.add("k", 30) for _ in range(50)))
        assert sorted(w.count for w in windows) == list(range(1, 51))  # no two callers saw the same count
        assert all(0 < w.resets_in <= 30 for w in windows)
        assert (await counter.get("k")).count == 50
        ttl = await counter.client.pttl(f"{redis_prefix}k")
        assert 0 < ttl <= 30_000  # INCR and EXPIRE together: never a counter without an end
        await counter.clear("k")
        assert (await counter.get("k")).count == 0
        assert not counter.using_fallback
    finally:
        await counter.aclose()


async def test_redis_unreachable_falls_back_to_memory_and_still_limits(caplog):
    # Nothing listens on port 1 of the loopback.
    counter = RedisCounter.from_url("redis://127.0.0.1:1/0", prefix="test:")
    limit = RateLimit(counter, "test", limit=2, window_seconds=60)
    try:
        await limit.hit("a")
        await limit.hit("a")
        with pytest.raises(TooManyRequests):
            await limit.hit("a")
    finally:
        await counter.aclose()
    assert counter.using_fallback
    assert "rate-limit store unreachable" in caplog.text


def test_the_store_is_chosen_by_settings():
    settings = AppointmentSettings(database_url="sqlite:///unused.db", redis_url=None)
    assert isinstance(counter_from_settings(settings), MemoryCounter)
    settings = AppointmentSettings(database_url="sqlite:///unused.db", redis_url=REDIS_URL, rate_limit_prefix="p:")
    counter = counter_from_settings(settings)
    assert isinstance(counter, RedisCounter) and counter.prefix == "p:"


# -- registration per address ------------------------------------------------------------------


def registration(n: str) -> dict:
    return {
        "email": f"limit-{n}-{uuid.uuid4().hex[:8]}@example.org",
        "password": "correct horse battery",
        "full_name": "R",
    }


async def test_registration_is_limited_per_address_in_rest_and_graphql(make_auth_app):  # noqa: F811
    app = make_auth_app(registration_max_per_address=3)
    async for client in running(app):
        for n in range(3):
            assert (await client.post("/auth/register", json=registration(str(n)))).status_code == 201
        refused = await client.post("/auth/register", json=registration("x"))
        assert refused.status_code == 429
        assert refused.json()["code"] == "TOO_MANY_REQUESTS"
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        # Through the router, the client's address comes in X-Forwarded-For: another address has its own count.
        api = AuthApi(client, app)
        body = registration("y")
        variables = {"i": {"email": body["email"], "password": body["password"], "fullName": "R"}}
        elsewhere = await api.gql(REGISTER, variables, headers={"x-forwarded-for": "203.0.113.7"})
        assert "errors" not in elsewhere


async def test_aliased_registrations_count_one_by_one(make_auth_app):  # noqa: F811
    app = make_auth_app(registration_max_per_address=2)
    async for client in running(app):
        api = AuthApi(client, app)
        aliases = " ".join(
            f'r{n}: register(input: {{email: "{registration(str(n))["email"]}", password: "correct horse battery",'
            f' fullName: "R"}}) {{ id }}'
            for n in range(4)
        )
        result = await api.gql(f"mutation {{ {aliases} }}", headers={"x-forwarded-for": "198.51.100.9"})
        # The third and fourth aliases are over the limit, each refused on its own.
        assert [e["extensions"]["code"] for e in result["errors"]] == ["TOO_MANY_REQUESTS"] * 2
        assert [e["path"] for e in result["errors"]] == [["r2"], ["r3"]]
        assert result["data"]["r2"] is None and result["data"]["r3"] is None
        assert result["errors"][0]["extensions"]["retryAfter"] > 0
        async with app.state.db.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM users")) == 2


# -- booking per patient -----------------------------------------------------------------------

BOOK = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }"


async def appointments_api(database_for, tmp_path, keys, **overrides):
    from subgraphs.appointments.app import MIGRATIONS

    settings = AppointmentSettings(
        database_url=database_for("appointments", MIGRATIONS), data_dir=tmp_path / "data", **overrides
    )
    app = create_appointments(settings, key_source=StaticKeys(keys.public_keys))
    async for client in running(app):
        yield AppointmentsApi(client, app, keys)


async def test_booking_is_limited_per_patient(database_for, tmp_path):
    keys = new_keys()
    async for api in appointments_api(database_for, tmp_path, keys, booking_max_per_patient=2):
        _doctor, profile = await api.doctor(working_hours=WEEKDAYS_9_TO_5)
        patient, other = api.caller(), api.caller()
        day = monday()
        assert (await api.book(patient, profile["id"], at(day, "09:00"))).status_code == 201
        # A refused attempt counts too: the limit is on attempts, not on successes.
        assert (await api.book(patient, profile["id"], at(day, "09:00"))).status_code == 409
        refused = await api.book(patient, profile["id"], at(day, "10:00"))
        assert refused.status_code == 429 and refused.json()["code"] == "TOO_MANY_REQUESTS"
        assert int(refused.headers["retry-after"]) > 0
        assert (await api.book(other, profile["id"], at(day, "11:00"))).status_code == 201
        # GraphQL aliases count one by one.
        aliases = " ".join(
            f'b{n}: bookAppointment(input: {{doctorId: "{profile["id"]}", startsAt: "{iso(at(day, f"1{n + 2}:00"))}"}})'
            " { id }"
            for n in range(3)
        )
        result = await api.gql(f"mutation {{ {aliases} }}", caller=other)
        assert [e["extensions"]["code"] for e in result["errors"]] == ["TOO_MANY_REQUESTS"] * 2
        assert [e["path"] for e in result["errors"]] == [["b1"], ["b2"]]
        assert result["data"]["b0"]["id"] and result["data"]["b1"] is None
        assert await api.count() == 3


# -- shared across replicas (Redis) ------------------------------------------------------------


async def test_two_auth_replicas_share_the_registration_and_login_limits(make_auth_app, redis_prefix):  # noqa: F811
    settings = {**shared(redis_prefix), "registration_max_per_address": 3, "login_max_failures_per_account": 2}
    first, second = make_auth_app(**settings), make_auth_app(**settings)
    async for one in running(first):
        async for two in running(second):
            assert (await one.post("/auth/register", json=registration("a"))).status_code == 201
            user = registration("b")
            assert (await two.post("/auth/register", json=user)).status_code == 201
            assert (await one.post("/auth/register", json=registration("c"))).status_code == 201
            # The fourth registration from this address is refused by either replica.
            assert (await two.post("/auth/register", json=registration("d"))).status_code == 429
            assert (await one.post("/auth/register", json=registration("e"))).status_code == 429

            wrong = {"email": user["email"], "password": "not the password"}
            assert (await one.post("/auth/login", json=wrong)).status_code == 401
            assert (await two.post("/auth/login", json=wrong)).status_code == 401
            right = {"email": user["email"], "password": user["password"]}
            locked = await one.post("/auth/login", json=right)
            assert locked.status_code == 429 and "retry-after" in locked.headers
            api = AuthApi(two, second)
            login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
            result = await api.gql(login, {"e": user["email"], "p": user["password"]})
            assert result["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"


async def test_two_appointment_replicas_share_the_booking_limit(database_for, tmp_path, redis_prefix):
    keys = new_keys()
    overrides = {**shared(redis_prefix), "booking_max_per_patient": 2}
    async for one in appointments_api(database_for, tmp_path, keys, **overrides):
        settings = one.app.state.settings
        second = create_appointments(settings, key_source=StaticKeys(keys.public_keys))
        async for client in running(second):
            two = AppointmentsApi(client, second, keys)
            _doctor, profile = await one.doctor()
            patient = one.caller()
            day = monday()
            assert (await one.book(patient, profile["id"], at(day, "09:00"))).status_code == 201
            assert (await two.book(patient, profile["id"], at(day, "10:00"))).status_code == 201
            assert (await one.book(patient, profile["id"], at(day, "11:00"))).status_code == 429
            headers = {**ROUTER_HEADERS, "authorization": f"Bearer {mint(keys, patient.id, 'patient')}"}
            variables = {"i": {"doctorId": profile["id"], "startsAt": iso(at(day, "12:00"))}}
            result = (
                await client.post("/graphql", json={"query": BOOK, "variables": variables}, headers=headers)
            ).json()
            assert result["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
            assert result["errors"][0]["extensions"]["retryAfter"] > 0
