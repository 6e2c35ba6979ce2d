"""`healthcare bench`: a benchmark of the whole stack (docs/performance.md).

Seeds a fixed data set (bulk, straight into each service's database, plus a few real users made
through the API), starts the four subgraphs and Hive Gateway in production mode on free loopback
ports, warms up, runs bounded load (one client and eight concurrent clients, fixed operation
counts and a time cap per cell) and writes `bench.json`, `bench.md` and `bench.png` (the chart
needs matplotlib: `pip install matplotlib`, or the `bench` extra).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(commands) -> argparse.ArgumentParser:
    bench = commands.add_parser(
        "bench",
        help="benchmark the whole stack (seed, start in production mode, load, report)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument("--scale", default="full", help="tiny, small, full (default), or a factor in (0, 1]")
    bench.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    bench.add_argument(
        "--database-url-base",
        default=os.environ.get("BENCH_DATABASE_URL_BASE", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL whose role may CREATE DATABASE (default: $BENCH_DATABASE_URL_BASE or local postgres)",
    )
    bench.add_argument("--out", type=Path, default=Path("var/bench"), help="where bench.json/.md/.png go")
    bench.add_argument(
        "--work-dir", type=Path, default=None, help="logs, supergraph, SQLite files (default: var/bench/run-<time>)"
    )
    bench.add_argument("--scenarios", nargs="*", default=None, help="only scenarios whose names start so")
    bench.add_argument("--sizes", type=int, nargs="*", default=None, help="list sizes (default 10 100 1000)")
    bench.add_argument("--concurrency", type=int, nargs="*", default=[1, 8])
    bench.add_argument("--workers", type=int, default=1, help="uvicorn workers per subgraph (counters need 1)")
    bench.add_argument("--loop", default="auto", help="uvicorn event loop: auto (uvloop), asyncio")
    bench.add_argument("--http", default="auto", help="uvicorn HTTP parser: auto (httptools), h11")
    bench.add_argument("--time-cap", type=float, default=None, help="seconds per cell (default per scale)")
    bench.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra subgraph setting")
    bench.add_argument("--label", default="", help="a note kept in the JSON (what this run tries)")
    bench.add_argument("--no-chart", action="store_true")
    bench.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases afterwards")
    bench.set_defaults(run=run_command)
    return bench


def run_command(args: argparse.Namespace) -> int:
    from .runner import Options, run

    extra_env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env {item}: expected KEY=VALUE")
        extra_env[key] = value
    options = Options(
        scale=args.scale,
        database=args.database,
        database_url_base=args.database_url_base,
        out_dir=args.out,
        work_dir=args.work_dir,
        scenarios=args.scenarios,
        sizes=tuple(args.sizes) if args.sizes else None,
        concurrency=tuple(args.concurrency),
        workers=args.workers,
        loop=args.loop,
        http=args.http,
        time_cap=args.time_cap,
        chart=not args.no_chart,
        keep=args.keep,
        label=args.label,
        extra_env=extra_env,
    )
    run(options, log=lambda line: print(line, flush=True))
    return 0
