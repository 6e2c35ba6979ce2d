"""The bench's way to run one subgraph: `healthcare serve`, plus the bench's counters.

    python -m subgraphs.cli.bench.serve NAME --port N [--workers W] [--count] [--capture]

Everything `healthcare serve` does (logging, migrations, uvicorn with the same options); with
`--count` (one worker only) the app is wrapped in `counting.CountingApp`. Without `--count`
it is exactly `healthcare serve` (the app factory, `--workers` passed on).
"""

from __future__ import annotations

import argparse
import importlib

from .. import registry


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from subgraphs.kit.logging import configure_logging
    from subgraphs.kit.migrations import upgrade

    parser = argparse.ArgumentParser(prog="bench-serve")
    parser.add_argument("subgraph", choices=list(registry.SUBGRAPHS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--count", action="store_true", help="wrap the app in the bench's counters")
    parser.add_argument("--capture", action="store_true", help="keep bodies of capture-* /graphql requests")
    parser.add_argument("--loop", default="auto", help="uvicorn's event loop (auto: uvloop when installed)")
    parser.add_argument("--http", default="auto", help="uvicorn's HTTP parser (auto: httptools when installed)")
    args = parser.parse_args(argv)

    subgraph = registry.select([args.subgraph])[0]
    settings = subgraph.settings()
    configure_logging(subgraph.name, settings.log_level)
    if subgraph.owns_tables:
        upgrade(subgraph.name, subgraph.migrations_dir, settings.database_url)
    options = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": 20,
        "loop": args.loop,
        "http": args.http,
    }
    if not args.count or args.workers > 1:
        uvicorn.run(subgraph.app_factory, factory=True, workers=args.workers, **options)
        return 0

    from .counting import CountingApp, install_sql_counters, label_account_checks

    label_account_checks()
    create_app = importlib.import_module(f"{subgraph.package}.app").create_app
    app = create_app()
    db = getattr(app.state, "db", None)
    install_sql_counters([db.engine.sync_engine] if db is not None else [])
    wrapped = CountingApp(app, settings.router_secret, settings.router_secret_header, capture=args.capture)
    uvicorn.run(wrapped, **options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
