"""Entry point of the `healthcare` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from . import registry
from . import schema as schema_tools


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from subgraphs.kit.logging import configure_logging
    from subgraphs.kit.migrations import upgrade

    subgraph = registry.select([args.subgraph])[0]
    settings = subgraph.settings()
    port = args.port or settings.port
    configure_logging(subgraph.name, settings.log_level)
    if subgraph.owns_tables and not args.no_migrate:
        upgrade(subgraph.name, subgraph.migrations_dir, settings.database_url)
    uvicorn.run(
        subgraph.app_factory,
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        log_config=None,
        # Behind the edge every peer is the proxy: believe its X-Forwarded-For only when configured.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
        timeout_graceful_shutdown=20,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from subgraphs.kit.migrations import upgrade

    for subgraph in registry.select(args.subgraphs):
        if not subgraph.owns_tables:
            continue
        settings = subgraph.settings()
        upgrade(subgraph.name, subgraph.migrations_dir, settings.database_url)
        print(f"{subgraph.name}: migrated to head")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    subgraphs = registry.select(args.subgraphs)
    if args.action == "export":
        for path in schema_tools.export(subgraphs):
            print(f"wrote {path}")
        return 0
    if args.action == "compose":
        # The supergraph is made of every subgraph: composing a subset would drop the others.
        if args.subgraphs:
            print("compose takes no subgraph names: the supergraph has them all", file=sys.stderr)
            return 2
        return schema_tools.compose(list(registry.SUBGRAPHS.values()), accept_breaking=args.accept_breaking)
    if args.subgraphs:
        # Only the SDL drift of the named subgraphs (the former behaviour of `check NAME`).
        problems = schema_tools.drift(subgraphs)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("schema drift: run `healthcare schema export` and commit the result", file=sys.stderr)
            return 1
        print("schema: the SDL of " + ", ".join(s.name for s in subgraphs) + " matches the code")
        return 0
    return schema_tools.check(list(registry.SUBGRAPHS.values()), accept_breaking=args.accept_breaking, base=args.base)


def cmd_create_admin(args: argparse.Namespace) -> int:
    from subgraphs.auth.app import MIGRATIONS
    from subgraphs.auth.config import AuthSettings
    from subgraphs.auth.users.care import NoCareRelationships
    from subgraphs.auth.users.passwords import Passwords
    from subgraphs.auth.users.service import UserService
    from subgraphs.kit.audit import AuditTrail
    from subgraphs.kit.db import Database
    from subgraphs.kit.migrations import upgrade

    password = os.environ.get("ADMIN_PASSWORD") if args.password_from_env else None
    if password is None:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    settings = AuthSettings()
    upgrade("auth", MIGRATIONS, settings.database_url)

    async def create() -> str:
        db = Database(settings.database_url)
        audit = AuditTrail("auth", db)
        try:
            passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
            service = UserService(db, passwords, NoCareRelationships(), audit)
            user = await service.create_admin(args.email, password, args.full_name)
            return str(user.id)
        finally:
            await audit.close()
            await db.dispose()

    from pydantic import ValidationError

    from subgraphs.kit.errors import AppError

    try:
        user_id = asyncio.run(create())
    except ValidationError as exc:
        print(f"refused: {exc.errors()[0]['loc'][-1]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"refused: {exc.detail}", file=sys.stderr)
        return 2
    print(f"admin created: {args.email} ({user_id})")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine, inspect

    from subgraphs.kit.audit import audit_table_name, verify_chain
    from subgraphs.kit.db import sync_url

    broken = False
    for subgraph in registry.select(args.subgraphs):
        if not subgraph.owns_tables:
            continue
        engine = create_engine(sync_url(subgraph.settings().database_url))
        try:
            with engine.connect() as connection:
                if not inspect(connection).has_table(audit_table_name(subgraph.name)):
                    print(f"{subgraph.name}: no hash-chained audit log")
                    continue
                checked, bad_seq = verify_chain(connection, subgraph.name)
        finally:
            engine.dispose()
        if bad_seq is None:
            print(f"{subgraph.name}: {checked} audit events, chain intact")
        else:
            broken = True
            print(f"{subgraph.name}: chain BROKEN at seq {bad_seq} (after {checked} good events)", file=sys.stderr)
    return 1 if broken else 0


def cmd_dev(args: argparse.Namespace) -> int:
    from .dev import run_dev

    return run_dev(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="healthcare", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run one subgraph (migrates its database first)")
    serve.add_argument("subgraph", choices=list(registry.SUBGRAPHS))
    serve.add_argument("--port", type=int, default=None, help="default: the subgraph's own port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument("--no-migrate", action="store_true", help="do not run migrations before starting")
    serve.set_defaults(run=cmd_serve)

    dev = commands.add_parser(
        "dev",
        help="run the whole system locally (subgraphs on SQLite files under var/, the router on :4000)",
        description=(
            "Every subgraph of the registry on its own port, then the router on :4000, logs in one stream; "
            "Ctrl-C stops everything. The router is the Apollo Router when a `router` binary is on PATH "
            "(or APOLLO_ROUTER_BINARY names one), otherwise Hive Gateway (npm packages installed on first run)."
        ),
    )
    dev.add_argument("--only", nargs="*", default=None, help="run only these subgraphs (the router routes to them)")
    dev.add_argument("--host", default="127.0.0.1", help="address the subgraphs and the router listen on")
    dev.add_argument(
        "--router-port",
        type=int,
        default=int(os.environ.get("ROUTER_PORT", "4000")),
        help="default: $ROUTER_PORT or 4000",
    )
    dev.add_argument("--no-router", action="store_true", help="run the subgraphs only")
    dev.add_argument("--demo", action="store_true", help="load demo data once everything is ready")
    dev.set_defaults(run=cmd_dev)

    migrate = commands.add_parser("migrate", help="bring databases to the latest schema")
    migrate.add_argument("subgraphs", nargs="*")
    migrate.set_defaults(run=cmd_migrate)

    schema = commands.add_parser(
        "schema",
        help="export the subgraphs' SDL to schema/, compose schema/supergraph.graphql, check both",
        description=schema_tools.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.add_argument("action", choices=["export", "compose", "check"])
    schema.add_argument("subgraphs", nargs="*", help="export/check: only these subgraphs' SDL")
    schema.add_argument(
        "--accept-breaking",
        action="store_true",
        help="compose/check: allow changes that break clients of the current supergraph",
    )
    schema.add_argument(
        "--base",
        default="HEAD",
        help="check: the git revision whose supergraph breaking changes are measured against (default HEAD)",
    )
    schema.set_defaults(run=cmd_schema)

    audit = commands.add_parser("audit", help="check that no audit event was changed or removed")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("subgraphs", nargs="*")
    audit.set_defaults(run=cmd_audit)

    admin = commands.add_parser("create-admin", help="create an admin account (the only way to make the first)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", required=True)
    source = admin.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    source.add_argument("--password-from-env", action="store_true", help="read the password from ADMIN_PASSWORD")
    admin.set_defaults(run=cmd_create_admin)

    from .bench import add_parser as add_bench_parser

    add_bench_parser(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
