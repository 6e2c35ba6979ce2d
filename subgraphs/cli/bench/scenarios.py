"""What the benchmark asks for: one operation per scenario, at a list size n.

An operation is what a client does to show one screen: one GraphQL request through the router,
or as many REST calls as the data takes. Lists are capped at 100 per request on every path
(REST `?limit=` and the GraphQL `limit` arguments alike: `PageParams.of`, a limit this work does
not loosen), so n = 1,000 is ten page requests of 100, on GraphQL too; per-request figures are
per HTTP request, per-operation figures per screen.

Every request differs from the one before (docs/pitfalls.md #7: Hive Gateway merges identical in-flight
subgraph requests): scenarios rotate over several users and move their windows and offsets with
the request number, and each request carries its own `x-request-id`, which the router forwards
to every subgraph fetch (it is part of the deduplication key too).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from .seed import BenchUser, SeedResult

PAGE = 100  # the API's cap on one list request (REST and GraphQL)
OFFSET_SPREAD = 20  # requests move their window by up to this many rows

DASHBOARD = """query Dashboard($limit: Int!, $offset: Int!) {
  me { appointments(limit: $limit, offset: $offset) {
    startsAt status doctor { displayName user { fullName } } prescriptions { medication dosage } } }
}"""

DOCTOR_DAY = """query DoctorDay($from: DateTime!, $to: DateTime!, $limit: Int!, $offset: Int!) {
  appointments(from: $from, to: $to, limit: $limit, offset: $offset) {
    startsAt status patient { fullName dateOfBirth } }
}"""

# The appointments subgraph alone: the fields of its REST `AppointmentOut` (ids of patient and doctor).
SUBGRAPH_LIST = """query List($from: DateTime!, $to: DateTime!, $limit: Int!, $offset: Int!) {
  appointments(from: $from, to: $to, limit: $limit, offset: $offset) {
    id startsAt endsAt status reason notes createdAt updatedAt patient { id } doctor { id } }
}"""


class BenchError(RuntimeError):
    pass


def pages(n: int) -> list[tuple[int, int]]:
    """(limit, offset-from-start) of the requests that read n rows."""
    return [(min(PAGE, n - start), start) for start in range(0, n, PAGE)]


@dataclass
class Tokens:
    auth_url: str
    client: httpx.AsyncClient
    password: str
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    max_age: float = 600.0  # access tokens live 15 minutes

    async def of(self, user: BenchUser) -> str:
        held = self.tokens.get(user.email)
        if held is None or time.monotonic() - held[1] > self.max_age:
            response = await self.client.post(
                f"{self.auth_url}/auth/login", json={"email": user.email, "password": self.password}
            )
            response.raise_for_status()
            held = (response.json()["access_token"], time.monotonic())
            self.tokens[user.email] = held
        return held[0]


@dataclass
class Context:
    client: httpx.AsyncClient
    urls: dict[str, str]  # auth, appointments, prescriptions, admin, router
    secret: str
    secret_header: str
    tokens: Tokens
    seed: SeedResult
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    counter: itertools.count = field(default_factory=itertools.count)
    captured: dict[tuple[str, int, int], list[list[list[dict]]]] = field(default_factory=dict)
    # While capturing: the request ids handed out (prefix `capture-`, kept by the subgraphs).
    capture_ids: list[str] | None = None

    def request_id(self, prefix: str = "bench") -> str:
        if self.capture_ids is not None:
            value = f"capture-{self.run_tag}-{next(self.counter)}"
            self.capture_ids.append(value)
            return value
        return f"{prefix}-{self.run_tag}-{next(self.counter)}"

    def patient(self, i: int) -> BenchUser:
        return self.seed.patients[i % len(self.seed.patients)]

    def doctor(self, i: int) -> BenchUser:
        return self.seed.doctors[i % len(self.seed.doctors)]

    async def headers(self, user: BenchUser, *, secret: bool = False, prefix: str = "bench") -> dict[str, str]:
        headers = {"authorization": f"Bearer {await self.tokens.of(user)}", "x-request-id": self.request_id(prefix)}
        if secret:
            headers[self.secret_header] = self.secret
        return headers

    async def graphql(self, url: str, query: str, variables: dict, headers: dict[str, str]) -> dict:
        response = await self.client.post(url, json={"query": query, "variables": variables}, headers=headers)
        if response.status_code != 200:
            raise BenchError(f"{url}: {response.status_code} {response.text[:300]}")
        body = response.json()
        if body.get("errors"):
            raise BenchError(f"{url}: {body['errors'][:2]}")
        return body["data"]

    async def get(self, url: str, headers: dict[str, str], params: dict | None = None) -> dict:
        response = await self.client.get(url, headers=headers, params=params)
        if response.status_code != 200:
            raise BenchError(f"{url}: {response.status_code} {response.text[:300]}")
        return response.json()

    def window(self, doctor: BenchUser, n: int, i: int) -> tuple[str, str]:
        """[from, to) holding exactly n of the doctor's appointments, moved along with i."""
        starts = doctor.starts
        room = len(starts) - n
        if room < 0:
            raise BenchError(f"{doctor.email} has {len(starts)} appointments; a list of {n} needs more")
        first = (i * 7919) % (room + 1)
        end = starts[first + n] if first + n < len(starts) else starts[-1] + timedelta(minutes=1)
        return _iso(starts[first]), _iso(end)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _check(count: int, n: int, what: str) -> None:
    if count != n:
        raise BenchError(f"{what}: expected {n} rows, got {count}")


# --- operations -----------------------------------------------------------------------------
# Each returns the number of HTTP requests it made.


async def dashboard_router(ctx: Context, n: int, i: int) -> int:
    user = ctx.patient(i)
    offset = i % OFFSET_SPREAD
    got = 0
    for limit, start in pages(n):
        data = await ctx.graphql(
            f"{ctx.urls['router']}/graphql",
            DASHBOARD,
            {"limit": limit, "offset": offset + start},
            await ctx.headers(user),
        )
        got += len(data["me"]["appointments"])
    _check(got, n, "dashboard")
    return len(pages(n))


async def _appointment_pages(ctx: Context, user: BenchUser, n: int, offset: int, params: dict, *, parallel: bool):
    url = f"{ctx.urls['appointments']}/appointments"

    async def one(limit: int, start: int) -> list[dict]:
        body = await ctx.get(url, await ctx.headers(user), {**params, "limit": limit, "offset": offset + start})
        return body["items"]

    if parallel:
        chunks = await asyncio.gather(*(one(limit, start) for limit, start in pages(n)))
    else:
        chunks = [await one(limit, start) for limit, start in pages(n)]
    return [item for chunk in chunks for item in chunk]


async def dashboard_rest_naive(ctx: Context, n: int, i: int) -> int:
    """The same screen from the original REST routes, one call per related item, one after another.

    REST has no route for a patient to read their doctor's user record, so `doctor.user.fullName`
    is left out (the doctor's `display_name` is there): this client fetches a little less."""
    user = ctx.patient(i)
    offset = i % OFFSET_SPREAD
    await ctx.get(f"{ctx.urls['auth']}/users/profile", await ctx.headers(user))
    items = await _appointment_pages(ctx, user, n, offset, {}, parallel=False)
    _check(len(items), n, "dashboard (REST)")
    for item in items:
        await ctx.get(f"{ctx.urls['appointments']}/doctors/{item['doctor_id']}", await ctx.headers(user))
        await ctx.get(
            f"{ctx.urls['prescriptions']}/prescriptions",
            await ctx.headers(user),
            {"appointment_id": item["id"], "limit": PAGE},
        )
    return 1 + len(pages(n)) + 2 * n


async def _bounded(calls: Sequence[Callable[[], Awaitable]], limit: int = 8) -> list:
    semaphore = asyncio.Semaphore(limit)

    async def run(call):
        async with semaphore:
            return await call()

    return await asyncio.gather(*(run(call) for call in calls))


async def dashboard_rest_best(ctx: Context, n: int, i: int) -> int:
    """The same screen as well as REST allows: pages in parallel, each doctor once, and the
    prescriptions either per appointment or as the patient's whole list, whichever takes fewer calls
    (at most 8 calls in flight, as a browser would)."""
    user = ctx.patient(i)
    offset = i % OFFSET_SPREAD
    headers = await ctx.headers(user)
    profile_call = ctx.get(f"{ctx.urls['auth']}/users/profile", headers)
    first_rx = ctx.get(f"{ctx.urls['prescriptions']}/prescriptions", headers, {"limit": PAGE, "offset": 0})
    _profile, items, rx_page = await asyncio.gather(
        profile_call, _appointment_pages(ctx, user, n, offset, {}, parallel=True), first_rx
    )
    _check(len(items), n, "dashboard (REST)")
    calls = 2 + len(pages(n))
    doctor_ids = sorted({item["doctor_id"] for item in items})
    fetch_doctors = [(lambda d=d: ctx.get(f"{ctx.urls['appointments']}/doctors/{d}", headers)) for d in doctor_ids]
    remaining_pages = max((rx_page["total"] - 1) // PAGE, 0)
    if remaining_pages < n:
        fetch_rx = [
            (lambda k=k: ctx.get(f"{ctx.urls['prescriptions']}/prescriptions", headers, {"limit": PAGE, "offset": k}))
            for k in range(PAGE, rx_page["total"], PAGE)
        ]
    else:
        fetch_rx = [
            (
                lambda a=item["id"]: ctx.get(
                    f"{ctx.urls['prescriptions']}/prescriptions", headers, {"appointment_id": a, "limit": PAGE}
                )
            )
            for item in items
        ]
    await _bounded(fetch_doctors + fetch_rx)
    return calls + len(fetch_doctors) + len(fetch_rx)


async def doctor_day_router(ctx: Context, n: int, i: int) -> int:
    doctor = ctx.doctor(i)
    start, end = ctx.window(doctor, n, i)
    got = 0
    for limit, offset in pages(n):
        data = await ctx.graphql(
            f"{ctx.urls['router']}/graphql",
            DOCTOR_DAY,
            {"from": start, "to": end, "limit": limit, "offset": offset},
            await ctx.headers(doctor),
        )
        rows = data["appointments"]
        if any(row["patient"] is None or row["patient"]["fullName"] is None for row in rows):
            raise BenchError("doctor's day: a patient's name is missing")
        got += len(rows)
    _check(got, n, "doctor's day")
    return len(pages(n))


async def doctor_day_rest(ctx: Context, n: int, i: int) -> int:
    """The appointments of the doctor's day over REST. No REST route lets a doctor read a patient's
    name or date of birth (`GET /users` is for admins), so REST cannot show this screen: this is
    only its first half, for reference."""
    doctor = ctx.doctor(i)
    start, end = ctx.window(doctor, n, i)
    items = await _appointment_pages(ctx, doctor, n, 0, {"from": start, "to": end}, parallel=False)
    _check(len(items), n, "doctor's day (REST)")
    return len(pages(n))


async def subgraph_graphql(ctx: Context, n: int, i: int) -> int:
    """The appointments subgraph's /graphql called directly (as the router would, with its secret)."""
    doctor = ctx.doctor(i)
    start, end = ctx.window(doctor, n, i)
    got = 0
    for limit, offset in pages(n):
        data = await ctx.graphql(
            f"{ctx.urls['appointments']}/graphql",
            SUBGRAPH_LIST,
            {"from": start, "to": end, "limit": limit, "offset": offset},
            await ctx.headers(doctor, secret=True),
        )
        got += len(data["appointments"])
    _check(got, n, "subgraph list")
    return len(pages(n))


async def subgraph_rest(ctx: Context, n: int, i: int) -> int:
    """The same rows from the appointments service's REST route."""
    doctor = ctx.doctor(i)
    start, end = ctx.window(doctor, n, i)
    items = await _appointment_pages(ctx, doctor, n, 0, {"from": start, "to": end}, parallel=False)
    _check(len(items), n, "subgraph list (REST)")
    return len(pages(n))


# --- the router's cost: its subgraph requests, replayed without it ---------------------------


async def capture(ctx: Context, scenario: str, n: int, fetch_captures) -> None:
    """Runs one operation per bench user through the router with `capture-*` request ids, and keeps
    the subgraph requests each caused, grouped in the stages the router ran them in.

    `fetch_captures()` returns what the subgraphs kept: dicts with `request_id`, `started`,
    `finished` (monotonic seconds), `body`, `authorization` and the subgraph's `url`."""
    operation = ROUTER_OPERATIONS[scenario]
    users = ctx.seed.patients if scenario == "dashboard" else ctx.seed.doctors
    for k in range(len(users)):
        ctx.capture_ids = []
        try:
            await operation(ctx, n, k)
            ids = ctx.capture_ids
        finally:
            ctx.capture_ids = None
        await asyncio.sleep(0.05)  # a subgraph records a fetch just after answering it
        fetches = await fetch_captures()
        requests = []
        for request_id in ids:
            mine = sorted((f for f in fetches if f["request_id"] == request_id), key=lambda f: f["started"])
            if not mine:
                raise BenchError(f"no subgraph request captured for {request_id}")
            requests.append(_stages(mine))
        ctx.captured[(scenario, n, k)] = requests


def _stages(fetches: list[dict]) -> list[list[dict]]:
    """Fetches that overlapped in time ran in parallel (one stage of the plan); the next stage
    starts after the previous one ended."""
    stages: list[list[dict]] = []
    stage_end = float("-inf")
    for fetch in fetches:
        if stages and fetch["started"] < stage_end:
            stages[-1].append(fetch)
            stage_end = max(stage_end, fetch["finished"])
        else:
            stages.append([fetch])
            stage_end = fetch["finished"]
    return stages


def replay_operation(scenario: str) -> Callable[[Context, int, int], Awaitable[int]]:
    async def replay(ctx: Context, n: int, i: int) -> int:
        keys = [key for key in ctx.captured if key[0] == scenario and key[1] == n]
        requests = ctx.captured[keys[i % len(keys)]]
        for stages in requests:
            for stage in stages:
                await asyncio.gather(*(_replay_one(ctx, fetch) for fetch in stage))
        return len(requests)

    return replay


async def _replay_one(ctx: Context, fetch: dict) -> None:
    headers = {
        "content-type": "application/json",
        "authorization": fetch["authorization"],
        ctx.secret_header: ctx.secret,
        "x-request-id": ctx.request_id("replay"),
    }
    response = await ctx.client.post(fetch["url"], content=fetch["body"], headers=headers)
    if response.status_code != 200 or b'"errors"' in response.content:
        raise BenchError(f"replay to {fetch['url']}: {response.status_code} {response.text[:300]}")


ROUTER_OPERATIONS = {"dashboard": dashboard_router, "doctor-day": doctor_day_router}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    operation: Callable[[Context, int, int], Awaitable[int]]
    via: str  # router | rest | subgraph | replay
    same_data: bool = True
    note: str = ""
    # From this list size on, one operation takes seconds (thousands of sequential calls): it is
    # measured once, with one client, without a warm-up of its own.
    heavy_from: int | None = None


SCENARIOS: list[Scenario] = [
    Scenario("dashboard.router", "Patient dashboard, GraphQL through the router", dashboard_router, "router"),
    Scenario(
        "dashboard.rest-naive",
        "Patient dashboard, REST, one call per related item",
        dashboard_rest_naive,
        "rest",
        note="no REST route gives a patient their doctor's user name: left out. At n = 1,000 one operation "
        "makes 2,011 sequential calls: measured once, one client only",
        heavy_from=1000,
    ),
    Scenario(
        "dashboard.rest-best",
        "Patient dashboard, REST as well as it allows (parallel, each doctor once)",
        dashboard_rest_best,
        "rest",
        note="no REST route gives a patient their doctor's user name: left out",
    ),
    Scenario(
        "dashboard.replayed",
        "Patient dashboard: the router's subgraph requests, replayed directly",
        replay_operation("dashboard"),
        "replay",
    ),
    Scenario("doctor-day.router", "Doctor's day, GraphQL through the router", doctor_day_router, "router"),
    Scenario(
        "doctor-day.replayed",
        "Doctor's day: the router's subgraph requests, replayed directly",
        replay_operation("doctor-day"),
        "replay",
    ),
    Scenario(
        "doctor-day.rest",
        "Doctor's day, REST: appointments only",
        doctor_day_rest,
        "rest",
        same_data=False,
        note="no REST route lets a doctor read a patient's name or date of birth: appointments only",
    ),
    Scenario(
        "appointments.subgraph-graphql",
        "Appointments subgraph /graphql directly (router secret), a list of appointments",
        subgraph_graphql,
        "subgraph",
    ),
    Scenario(
        "appointments.subgraph-rest",
        "Appointments service REST GET /appointments, the same rows",
        subgraph_rest,
        "subgraph",
    ),
]
