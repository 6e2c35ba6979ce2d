"""Before/after of one change, measured side by side: two stacks, operations interleaved.

    python -m subgraphs.cli.bench.compare --before DIR [--after DIR] [--scenario NAME --n N ...]

`--before` and `--after` are source trees (a copy of this repository with and without a change;
`--after` defaults to this one). Both stacks start in production mode from the same data plan,
then every scenario runs its operations alternately on one stack and the other (ABBA order), so
both see the same load on a shared machine; each operation's latency and the CPU time the stack's
processes spent on it are recorded. This is how docs/performance.md measured what each
optimization bought: numbers from two separate runs on a busy machine differ by more than most
of the changes do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from .. import registry
from . import procstats, scenarios, seed
from .runner import SCALES, percentile
from .stack import BenchStack, Databases


async def _paired(contexts, stacks, scenario, n: int, ops: int, log) -> dict:
    results: dict[str, dict[str, list[float]]] = {label: {"latency": [], "cpu": []} for label in contexts}
    labels = list(contexts)
    for index in range(3):  # warm-up
        for label in labels:
            await scenario.operation(contexts[label], n, index)
    pids = {label: [pid for name, group in stacks[label].pids().items() for pid in group] for label in labels}
    for index in range(ops):
        order = labels if index % 4 in (0, 3) else list(reversed(labels))
        for label in order:
            before = sum(filter(None, (procstats.cpu_seconds(pid) for pid in pids[label])))
            started = time.perf_counter()
            await scenario.operation(contexts[label], n, 10 + index)
            elapsed = time.perf_counter() - started
            after = sum(filter(None, (procstats.cpu_seconds(pid) for pid in pids[label])))
            results[label]["latency"].append(elapsed * 1000)
            results[label]["cpu"].append((after - before) * 1000)
    summary: dict[str, dict[str, Any]] = {}
    for label, found in results.items():
        summary[label] = {
            "p50_ms": round(percentile(found["latency"], 50), 2),
            "p95_ms": round(percentile(found["latency"], 95), 2),
            "mean_ms": round(statistics.fmean(found["latency"]), 2),
            "cpu_ms_per_op": round(statistics.fmean(found["cpu"]), 2),
        }
    a, b = summary[labels[0]], summary[labels[1]]
    summary["change"] = {
        "p50": f"{(b['p50_ms'] / a['p50_ms'] - 1) * 100:+.0f}%",
        "cpu": f"{(b['cpu_ms_per_op'] / a['cpu_ms_per_op'] - 1) * 100:+.0f}%" if a["cpu_ms_per_op"] else None,
    }
    log(f"  {scenario.name} n={n}: {json.dumps(summary)}")
    return summary


async def _measure(stacks, seeded, plan_items, ops, log) -> dict:
    out = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=3.0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        contexts = {}
        for label, stack in stacks.items():
            urls = {name: stack.url(name) for name in [*registry.SUBGRAPHS, "router"]}
            tokens = scenarios.Tokens(urls["auth"], client, seed.PASSWORD)
            contexts[label] = scenarios.Context(client, urls, stack.secret, "x-router-secret", tokens, seeded[label])
            for user in [*seeded[label].patients, *seeded[label].doctors]:
                await tokens.of(user)
        by_name = {scenario.name: scenario for scenario in scenarios.SCENARIOS}
        for name, n in plan_items:
            out[f"{name} n={n}"] = await _paired(contexts, stacks, by_name[name], n, ops, log)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-compare", description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="source tree without the change")
    parser.add_argument("--after", type=Path, default=None, help="source tree with it (default: this one)")
    parser.add_argument("--scenario", action="append", default=[], help="NAME:N, e.g. dashboard.router:100")
    parser.add_argument("--ops", type=int, default=60, help="operations per stack per scenario")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("var/bench/compare.json"))
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="for the 'after' stack")
    parser.add_argument(
        "--before-uvicorn", default="auto,auto", help="LOOP,HTTP of the 'before' stack's uvicorn (e.g. asyncio,h11)"
    )
    args = parser.parse_args(argv)
    plan_items = []
    for item in args.scenario or ["appointments.subgraph-graphql:100", "dashboard.router:100"]:
        name, _, n = item.partition(":")
        plan_items.append((name, int(n or 100)))
    scale = SCALES[args.scale]
    work = Path(args.out).resolve().parent / f"compare-{time.strftime('%Y%m%dT%H%M%S')}"
    trees = {"before": args.before.resolve(), "after": (args.after or Path(__file__).resolve().parents[3]).resolve()}
    extra = dict(item.split("=", 1) for item in args.env)
    stacks, databases, seeded = {}, {}, {}
    try:
        for label, tree in trees.items():
            databases[label] = Databases("postgresql", work / label)
            urls = databases[label].create(["auth", "appointments", "prescriptions"])
            loop, _, http = (args.before_uvicorn if label == "before" else "auto,auto").partition(",")
            stacks[label] = BenchStack(
                work / label,
                databases[label],
                source_dir=tree,
                extra_env=extra if label == "after" else {},
                loop=loop,
                http=http or "auto",
            )
            stacks[label].start(on_line=lambda line: None)
            patients, doctors = seed.register_real_users(
                scale.plan, stacks[label].url("auth"), stacks[label].url("appointments"), f"{label}{int(time.time())}"
            )
            counts = seed.bulk_load(scale.plan, urls, patients, doctors)
            seeded[label] = seed.SeedResult(patients, doctors, counts)
            print(f"{label}: {tree} up and seeded {counts}", flush=True)
        results = asyncio.run(_measure(stacks, seeded, plan_items, args.ops, lambda line: print(line, flush=True)))
    finally:
        for stack in stacks.values():
            stack.stop()
        for database in databases.values():
            with contextlib.suppress(Exception):
                database.drop()
    record = {"label": args.label, "trees": {k: str(v) for k, v in trees.items()}, "ops": args.ops, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
