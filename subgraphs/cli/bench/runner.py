"""The benchmark run: databases, seed, stack, warm-up, bounded load, figures, report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import httpx

from .. import registry
from ..processes import NODE_MODULES, node_executable
from . import procstats, report, scenarios, seed
from .counting import ACCOUNT_CHECK
from .stack import DEFAULT_POSTGRES, BenchStack, Databases

# Work done periodically rather than per request: the account recheck (once per token per
# ACCOUNT_RECHECK_SECONDS per service: its route on auth, and the statements any service runs for
# it) and the JWKS. Counted, but apart from per-request figures.
PERIODIC_ROUTES = {
    "GET /auth/validate-token",
    "POST /auth/validate-token",
    "GET /.well-known/jwks.json",
    ACCOUNT_CHECK,
}
GRAPHQL_ROUTE = "POST /graphql"


@dataclass(frozen=True)
class Scale:
    name: str
    plan: seed.Plan
    sizes: tuple[int, ...]
    # ops per cell: {concurrency: {n: max operations}}; a cell also stops at `time_cap` seconds
    ops: dict[int, dict[int, int]]
    time_cap: float
    warmup_ops: int


SCALES = {
    "full": Scale(
        "full",
        seed.Plan(),
        (10, 100, 1000),
        {1: {10: 200, 100: 100, 1000: 12}, 8: {10: 400, 100: 160, 1000: 8}},
        time_cap=4.0,
        warmup_ops=3,
    ),
    "small": Scale(
        "small",
        seed.Plan(doctors=20, patients=400, appointments=5000, prescriptions=2500),
        (10, 100, 1000),
        {1: {10: 60, 100: 30, 1000: 4}, 8: {10: 120, 100: 48, 1000: 8}},
        time_cap=3.0,
        warmup_ops=2,
    ),
    "tiny": Scale(
        "tiny",
        seed.Plan(
            doctors=6,
            patients=30,
            appointments=600,
            prescriptions=300,
            bench_patients=2,
            bench_doctors=2,
            per_bench_user=130,
        ),
        (10, 100),
        {1: {10: 4, 100: 3}, 8: {10: 8, 100: 8}},
        time_cap=1.0,
        warmup_ops=1,
    ),
}


@dataclass
class Options:
    scale: str = "full"
    database: str = "postgresql"  # or sqlite
    database_url_base: str = DEFAULT_POSTGRES
    out_dir: Path = Path("var/bench")
    work_dir: Path | None = None
    scenarios: list[str] | None = None  # names or prefixes; None: all
    sizes: tuple[int, ...] | None = None
    concurrency: tuple[int, ...] = (1, 8)
    workers: int = 1
    loop: str = "auto"
    http: str = "auto"
    time_cap: float | None = None
    chart: bool = True
    keep: bool = False
    label: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)


def scale_of(options: Options) -> Scale:
    if options.scale in SCALES:
        return SCALES[options.scale]
    factor = float(options.scale)
    if not 0 < factor <= 1:
        raise SystemExit("--scale: tiny, small, full, or a factor in (0, 1]")
    full = SCALES["full"]
    plan = seed.Plan(
        doctors=max(6, round(full.plan.doctors * factor)),
        patients=max(20, round(full.plan.patients * factor)),
        appointments=max(200, round(full.plan.appointments * factor)),
        prescriptions=max(100, round(full.plan.prescriptions * factor)),
    )
    return Scale(options.scale, plan, full.sizes, full.ops, full.time_cap, full.warmup_ops)


def run(options: Options, log=print) -> dict:
    scale = scale_of(options)
    sizes = options.sizes or scale.sizes
    if max(sizes) + scenarios.OFFSET_SPREAD > scale.plan.per_bench_user:
        plan = seed.Plan(**{**asdict(scale.plan), "per_bench_user": max(sizes) + scenarios.OFFSET_SPREAD})
        scale = Scale(scale.name, plan, scale.sizes, scale.ops, scale.time_cap, scale.warmup_ops)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = Path(options.work_dir or Path("var/bench") / f"run-{stamp}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    meta = environment(options, scale, sizes)
    databases = Databases(options.database, work, base_url=options.database_url_base)
    stack = BenchStack(
        work,
        databases,
        workers=options.workers,
        count=options.workers == 1,
        loop=options.loop,
        http=options.http,
        extra_env=options.extra_env,
    )
    result: dict = {"meta": meta}
    # SIGTERM (a CI timeout, `kill`) stops the stack and drops the databases like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        log(f"bench: databases ({options.database}) ...")
        urls = databases.create(list(name for name, s in registry.SUBGRAPHS.items() if s.owns_tables))
        log("bench: starting the stack (production mode) ...")
        stack.start(on_line=lambda line: log(f"  {line}"))
        log(f"bench: stack up in {time.monotonic() - started:.1f}s; seeding ...")
        seeded_at = time.monotonic()
        patients, doctors = seed.register_real_users(
            scale.plan, stack.url("auth"), stack.url("appointments"), work.name[-8:].lower()
        )
        counts = seed.bulk_load(scale.plan, urls, patients, doctors)
        seeding = time.monotonic() - seeded_at
        log(f"bench: seeded {counts} in {seeding:.1f}s")
        meta["dataset"] = {**counts, "seconds": round(seeding, 1), "plan": asdict(scale.plan)}
        cells, memory = asyncio.run(
            measure(options, scale, sizes, stack, seed.SeedResult(patients, doctors, counts), log)
        )
        result["cells"] = cells
        result["memory"] = memory
    finally:
        log("bench: stopping the stack ...")
        stack.stop()
        if not options.keep:
            with contextlib.suppress(Exception):
                databases.drop()
        signal.signal(signal.SIGTERM, previous)
    meta["duration_seconds"] = round(time.monotonic() - started, 1)
    meta["load_average_end"] = list(os.getloadavg())
    result["goals"] = report.goals(result)
    out = Path(options.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "bench.json"
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    markdown = report.markdown(result)
    (out / "bench.md").write_text(markdown)
    chart = report.chart(result, out / "bench.png") if options.chart else None
    result["files"] = {"json": str(json_path), "markdown": str(out / "bench.md"), "chart": chart}
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    log(markdown)
    log(f"bench: done in {meta['duration_seconds']}s; wrote {json_path}")
    return result


def _exit_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(143)


# --- measuring ------------------------------------------------------------------------------


class Counters:
    """The bench counters of every subgraph (`counting.py`), read over HTTP."""

    def __init__(self, client: httpx.AsyncClient, stack: BenchStack) -> None:
        self.client = client
        self.stack = stack
        self.enabled = stack.count
        self.headers = {"x-router-secret": stack.secret}

    async def read(self) -> dict[str, dict]:
        if not self.enabled:
            return {}
        names = list(registry.SUBGRAPHS)
        answers = await asyncio.gather(
            *(self.client.get(f"{self.stack.url(name)}/_bench/counters", headers=self.headers) for name in names)
        )
        return {name: answer.json() for name, answer in zip(names, answers, strict=True)}

    async def captures(self) -> list[dict]:
        fetches = []
        for name in registry.SUBGRAPHS:
            answer = await self.client.get(f"{self.stack.url(name)}/_bench/captures", headers=self.headers)
            for fetch in answer.json():
                fetches.append({**fetch, "url": f"{self.stack.url(name)}/graphql", "service": name})
        return fetches


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: value - before.get(key, 0) for key, value in after.items() if value - before.get(key, 0)}


def counts_between(before: dict[str, dict], after: dict[str, dict], ops: int, requests: int) -> dict:
    """Per-operation and per-request counts from two counter readings."""
    if not before or not after or ops == 0:
        return {}
    per_service: dict[str, dict] = {}
    totals = {"sql": 0, "sql_background": 0, "transactions": 0, "checkouts": 0, "graphql_fetches": 0, "calls": 0}
    periodic: dict[str, int] = {}
    for name in after:
        a, b = after[name], before.get(name, {})
        routes = _delta(b.get("requests", {}), a.get("requests", {}))
        sql_main = _delta(b.get("sql", {}).get("main", {}), a.get("sql", {}).get("main", {}))
        sql_other = _delta(b.get("sql", {}).get("other", {}), a.get("sql", {}).get("other", {}))
        tx_main = _delta(b.get("transactions", {}).get("main", {}), a.get("transactions", {}).get("main", {}))
        co_main = _delta(b.get("checkouts", {}).get("main", {}), a.get("checkouts", {}).get("main", {}))
        for route in PERIODIC_ROUTES:
            if route in routes:
                periodic[f"{name}: {route}"] = routes[route]

        def live(counts: dict[str, int]) -> int:
            return sum(v for k, v in counts.items() if k not in PERIODIC_ROUTES)

        service = {
            "sql": live(sql_main),
            "sql_background": sum(sql_other.values()),
            "transactions": live(tx_main),
            "checkouts": live(co_main),
            "graphql_fetches": routes.get(GRAPHQL_ROUTE, 0),
            "calls": live(routes),
            "routes": {k: v for k, v in routes.items() if k not in PERIODIC_ROUTES},
            "sql_by_route": {k: v for k, v in sql_main.items() if k not in PERIODIC_ROUTES},
            "connections": a.get("connections", 0) - b.get("connections", 0),
        }
        per_service[name] = service
        for key in totals:
            totals[key] += service[key]
    per_op = {key: value / ops for key, value in totals.items()}
    per_request = {key: value / requests for key, value in totals.items()} if requests else {}
    return {
        "per_op": per_op,
        "per_request": per_request,
        "per_service_per_op": {
            name: {
                **{key: service[key] / ops for key in totals},
                "routes": {route: count / ops for route, count in service["routes"].items()},
                "sql_by_route": {route: count / ops for route, count in service["sql_by_route"].items()},
                "new_connections": service["connections"],
            }
            for name, service in per_service.items()
        },
        "periodic_calls": periodic,
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100])."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def run_cell(ctx, scenario, n: int, concurrency: int, max_ops: int, time_cap: float, first: int) -> dict:
    latencies: list[float] = []
    requests = 0
    next_index = first
    stop_at = time.perf_counter() + time_cap
    last = first + max_ops

    async def worker() -> None:
        nonlocal next_index, requests
        while next_index < last and time.perf_counter() < stop_at:
            index = next_index
            next_index += 1
            t0 = time.perf_counter()
            made = await scenario.operation(ctx, n, index)
            latencies.append(time.perf_counter() - t0)
            requests += made

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = [value * 1000 for value in latencies]
    return {
        "ops": len(ms),
        "requests": requests,
        "elapsed_s": round(elapsed, 3),
        "throughput_ops_s": round(len(ms) / elapsed, 2) if elapsed else None,
        "latency_ms": {
            "p50": round(percentile(ms, 50), 2),
            "p95": round(percentile(ms, 95), 2),
            "p99": round(percentile(ms, 99), 2),
            "mean": round(sum(ms) / len(ms), 2) if ms else None,
            "min": round(min(ms), 2) if ms else None,
            "max": round(max(ms), 2) if ms else None,
        },
    }


async def paired_router_overhead(ctx, replayed, n: int, max_pairs: int, time_cap: float, first: int) -> dict:
    """The router's own latency, measured in pairs: the same operation through the router and as
    its subgraph requests replayed directly, one right after the other (ABBA order), so both see
    the same load. Separate cells minutes apart on a shared machine can differ by more than what
    is measured."""
    through_router = scenarios.ROUTER_OPERATIONS[replayed.name.split(".")[0]]
    routed: list[float] = []
    direct: list[float] = []
    differences: list[float] = []
    stop_at = time.perf_counter() + time_cap
    requests = 1
    for index in range(first, first + max_pairs):
        if time.perf_counter() >= stop_at and len(differences) >= 3:
            break
        timings = {}
        order = (("router", through_router), ("replayed", replayed.operation))
        for label, operation in order if index % 4 in (0, 3) else tuple(reversed(order)):
            started = time.perf_counter()
            requests = await operation(ctx, n, index)
            timings[label] = (time.perf_counter() - started) * 1000
        routed.append(timings["router"])
        direct.append(timings["replayed"])
        differences.append(timings["router"] - timings["replayed"])
    return {
        "pairs": len(differences),
        "router_p50_ms": round(percentile(routed, 50), 2),
        "replayed_p50_ms": round(percentile(direct, 50), 2),
        "median_difference_ms": round(statistics.median(differences), 2),
        "requests_per_op": requests,
    }


def selected(options: Options) -> list[scenarios.Scenario]:
    if not options.scenarios:
        return list(scenarios.SCENARIOS)
    # A replayed scenario captures its requests from the router itself: it needs nothing else selected.
    return [s for s in scenarios.SCENARIOS if any(s.name.startswith(p) for p in options.scenarios)]


async def measure(options: Options, scale: Scale, sizes, stack: BenchStack, seeded: seed.SeedResult, log):
    # Idle connections are dropped before uvicorn's own 5 s keep-alive timeout closes them under us.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=3.0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        urls = {name: stack.url(name) for name in [*registry.SUBGRAPHS, "router"]}
        tokens = scenarios.Tokens(urls["auth"], client, seed.PASSWORD)
        ctx = scenarios.Context(client, urls, stack.secret, "x-router-secret", tokens, seeded)
        counters = Counters(client, stack)
        time_cap = options.time_cap or scale.time_cap
        # Every bench user signs in before anything is measured (no login inside a cell).
        for user in [*seeded.patients, *seeded.doctors]:
            await tokens.of(user)
        memory_before = memory_of(stack)
        cells = []
        index = 0
        chosen = selected(options)
        for scenario in chosen:
            for n in sizes:
                if scenario.via == "replay":
                    if not counters.enabled:
                        log(f"  {scenario.name} n={n}: skipped (needs the bench counters: --workers 1)")
                        continue
                    await scenarios.capture(ctx, scenario.name.split(".")[0], n, counters.captures)
                heavy = scenario.heavy_from is not None and n >= scenario.heavy_from
                # One warm-up operation at the largest size (none for a heavy one: the smaller sizes
                # of the same scenario warmed the same code paths).
                warmups = 0 if heavy else scale.warmup_ops if n <= 100 else 1
                for _ in range(warmups):
                    await scenario.operation(ctx, n, index)
                    index += 1
                for concurrency in options.concurrency:
                    max_ops = scale.ops.get(concurrency, scale.ops[1]).get(n, 10)
                    if heavy:
                        if concurrency > 1:
                            log(f"  {scenario.name} n={n} c={concurrency}: not run (one operation takes seconds)")
                            continue
                        max_ops = 1
                    await asyncio.sleep(0.3)  # let the audit trail's batch of the previous cell go out
                    before_counts = await counters.read()
                    before_cpu = procstats.cpu_of(stack.pids())
                    client_cpu = time.process_time()
                    cell = await run_cell(ctx, scenario, n, concurrency, max_ops, time_cap, index)
                    client_cpu = time.process_time() - client_cpu
                    after_cpu = procstats.cpu_of(stack.pids())
                    await asyncio.sleep(0.3)
                    after_counts = await counters.read()
                    index += cell["ops"]
                    spent = procstats.cpu_delta_ms(before_cpu, after_cpu)
                    ops = cell["ops"] or 1
                    cpu = {name: round(value / ops, 3) for name, value in spent.items()}
                    cpu["stack"] = round(sum(v for k, v in spent.items() if k != "postgresql") / ops, 3)
                    cpu["stack_with_postgresql"] = round(sum(spent.values()) / ops, 3)
                    cpu["client"] = round(client_cpu * 1000 / ops, 3)
                    cell.update(
                        scenario=scenario.name,
                        via=scenario.via,
                        n=n,
                        concurrency=concurrency,
                        requests_per_op=cell["requests"] / ops,
                        cpu_ms_per_op=cpu,
                        counts=counts_between(before_counts, after_counts, cell["ops"], cell["requests"]),
                    )
                    if scenario.via == "replay" and concurrency == 1:
                        cell["paired"] = await paired_router_overhead(
                            ctx, scenario, n, max_ops, time_cap, index + 10_000
                        )
                    cells.append(cell)
                    lat = cell["latency_ms"]
                    log(
                        f"  {scenario.name:32} n={n:<5} c={concurrency} ops={cell['ops']:<4} "
                        f"p50={lat['p50']:8.2f}ms p95={lat['p95']:8.2f}ms "
                        f"{cell['throughput_ops_s']:8.1f} ops/s  cpu={cpu['stack']:.1f}ms/op "
                        f"sql/req={cell['counts'].get('per_request', {}).get('sql', 'n/a')}"
                    )
        memory_after = memory_of(stack)
    return cells, {"before_load": memory_before, "after_load": memory_after}


def memory_of(stack: BenchStack) -> dict[str, dict[str, float]]:
    """Resident memory (MB) now and at its peak, per process of the stack (its whole process tree)."""
    out = {}
    for name, pids in stack.pids().items():
        if name == "postgresql":
            continue
        rss = peak = 0
        for pid in pids:
            found = procstats.memory_kib(pid)
            rss += found.get("rss", 0)
            peak += found.get("peak", 0)
        out[name] = {"rss_mb": round(rss / 1024, 1), "peak_rss_mb": round(peak / 1024, 1), "processes": len(pids)}
    return out


# --- the record of what ran ---------------------------------------------------------------


def environment(options: Options, scale: Scale, sizes) -> dict:
    packages = {}
    for name in (
        "fastapi",
        "starlette",
        "strawberry-graphql",
        "graphql-core",
        "sqlalchemy",
        "asyncpg",
        "aiosqlite",
        "pydantic",
        "uvicorn",
        "uvloop",
        "httptools",
        "httpx",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    node_packages = {}
    for name in ("@graphql-hive/gateway", "@graphql-hive/router-runtime", "graphql"):
        with contextlib.suppress(OSError, ValueError):
            node_packages[name] = json.loads((NODE_MODULES / name / "package.json").read_text())["version"]
    node = node_executable()
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    git: dict[str, str | bool] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        root = Path(__file__).resolve().parents[3]
        git_bin = shutil.which("git") or "git"
        git["commit"] = subprocess.run(
            [git_bin, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        git["uncommitted_changes"] = bool(
            subprocess.run(
                [git_bin, "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        )
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "healthcare " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
        if Path(sys.argv[0]).name in ("healthcare", "main.py", "__main__.py")
        else " ".join(shlex.quote(arg) for arg in sys.argv),
        "label": options.label,
        "scale": scale.name,
        "sizes": list(sizes),
        "concurrency": list(options.concurrency),
        "ops_per_cell": {str(c): {str(n): v for n, v in per.items()} for c, per in scale.ops.items()},
        "time_cap_s": options.time_cap or scale.time_cap,
        "warmup_ops": scale.warmup_ops,
        "database": options.database,
        "workers_per_subgraph": options.workers,
        "uvicorn": {"loop": options.loop, "http": options.http},
        "extra_env": options.extra_env,
        "python": platform.python_version(),
        "packages": packages,
        "node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else None,
        "node_packages": node_packages,
        "postgresql": _postgres_version(options) if options.database == "postgresql" else None,
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "git": git,
        "password_hashing": "PASSWORD_TIME_COST=1 PASSWORD_MEMORY_KIB=1024 (seeding speed only; no scenario signs in)",
    }


def _postgres_version(options: Options) -> str | None:
    with contextlib.suppress(Exception):
        import psycopg2

        connection = psycopg2.connect(options.database_url_base, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                row = cursor.fetchone()
                return row[0] if row is not None else None
        finally:
            connection.close()
    return None
