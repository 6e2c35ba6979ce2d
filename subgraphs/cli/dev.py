"""`healthcare dev`: every subgraph on its own port and SQLite file, the router in front, logs in one stream.

1. the router's npm packages (`npm ci` in router/ when missing or stale: Hive Gateway and composition),
2. a supergraph of the selected subgraphs composed from their code into var/router/ (so a field just
   added in code is routable at once; `healthcare schema check` still guards the committed one),
3. every subgraph (`healthcare serve NAME`), then the router, each waited for until ready,
4. a table of URLs, then every process's output, one line each, prefixed with its name,
5. Ctrl-C (SIGINT), SIGTERM or SIGHUP: the router, then the subgraphs, stopped; none is left behind.

The router is the Apollo Router when a `router` binary is on PATH (or named by APOLLO_ROUTER_BINARY)
with router/router.yaml, otherwise Hive Gateway from router/node_modules with router/gateway.config.ts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from subgraphs.kit.settings import DEV_ROUTER_SECRET

from . import registry
from . import schema as schema_tools
from .processes import (
    PROJECT_DIR,
    ROUTER_DIR,
    ManagedProcess,
    apollo_router_binary,
    ensure_router_packages,
    healthcare_command,
    hive_gateway_command,
    port_is_free,
    router_log_level,
    stop_all,
)

COLORS = ["36", "35", "33", "32", "34", "31"]
ROUTER_COLOR = "1;37"
READY_TIMEOUT_SECONDS = 90.0
APOLLO_HEALTH_PORT = 8088
_print_lock = threading.Lock()


def _printer(width: int, color_of: dict[str, str]):
    use_color = sys.stdout.isatty()

    def emit(name: str, line: str) -> None:
        label = name.ljust(width)
        if use_color:
            label = f"\033[{color_of.get(name, '0')}m{label}\033[0m"
        with _print_lock:
            print(f"{label} | {line}", flush=True)

    return emit


def _say(message: str = "") -> None:
    with _print_lock:
        print(message, flush=True)


def service_url_env(subgraphs: list[registry.Subgraph], host: str) -> dict[str, str]:
    """Where each service's REST API is, under the names the services read (`AUTH_SERVICE_URL`,
    the seed's `APPOINTMENT_SERVICE_URL`, ...), for the subgraphs that run here."""
    env = {}
    for subgraph in subgraphs:
        base = f"http://{_client_host(host)}:{subgraph.port}"
        env[f"{subgraph.name.upper()}_SERVICE_URL"] = base
        if subgraph.name.endswith("s"):
            env[f"{subgraph.name[:-1].upper()}_SERVICE_URL"] = base
    return env


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - listen address


def dev_env(subgraph: registry.Subgraph, data_dir: Path, service_urls: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HEALTHCARE_ENV", "development")
    env["HEALTHCARE_DATA_DIR"] = str(data_dir)
    # SQLite files under var/ unless this service's own URL (e.g. AUTH_DATABASE_URL) is set explicitly.
    env["DATABASE_URL"] = f"sqlite:///{data_dir}/{subgraph.name}.db"
    for name, url in (service_urls or {}).items():
        env.setdefault(name, url)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class RouterPlan:
    kind: str  # "hive" | "apollo"
    process: ManagedProcess
    url: str
    explorer: str
    extra_urls: list[tuple[str, str]]


def router_env(supergraph: Path, host: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HEALTHCARE_ENV", "development")
    env["SUPERGRAPH_PATH"] = str(supergraph)
    env["ROUTER_HOST"] = host
    env["ROUTER_PORT"] = str(port)
    env["LOG_LEVEL"] = router_log_level(env.get("LOG_LEVEL"))
    if not sys.stdout.isatty():
        env["NO_COLOR"] = "1"
    return env


def plan_router(supergraph: Path, host: str, port: int, on_line) -> RouterPlan:
    env = router_env(supergraph, host, port)
    base = f"http://{_client_host(host)}:{port}"
    binary = apollo_router_binary()
    if binary:
        env["ROUTER_LISTEN"] = f"{host}:{port}"
        command = [binary, "--config", str(ROUTER_DIR / "router.yaml"), "--supergraph", str(supergraph)]
        if env["HEALTHCARE_ENV"] != "production":
            # The subgraphs' development default (router.yaml has none: production must set it).
            env.setdefault("ROUTER_SECRET", DEV_ROUTER_SECRET)
            # Introspection on, subgraph errors shown, Sandbox (from Apollo's CDN: online only).
            command.append("--dev")
        origins = [o.strip() for o in env.get("CORS_ORIGINS", "").strip("[]").replace('"', "").split(",") if o.strip()]
        if origins:
            env.setdefault("ROUTER_CORS_ORIGIN", origins[0])
        process = ManagedProcess(
            name="router",
            command=command,
            env=env,
            cwd=ROUTER_DIR,
            ready_url=f"http://127.0.0.1:{APOLLO_HEALTH_PORT}/health?ready",
            on_line=on_line,
        )
        return RouterPlan(
            "apollo",
            process,
            f"{base}/",
            f"{base}/  (Apollo Router: POST GraphQL here; its Sandbox page needs the internet)",
            [("router health", f"http://127.0.0.1:{APOLLO_HEALTH_PORT}/health?ready")],
        )
    process = ManagedProcess(
        name="router",
        command=hive_gateway_command(),
        env=env,
        cwd=ROUTER_DIR,  # Hive Gateway loads gateway.config.ts from here
        ready_url=f"http://{_client_host(host)}:{port}/ready",
        on_line=on_line,
    )
    return RouterPlan(
        "hive",
        process,
        f"{base}/graphql",
        f"{base}/graphql",
        [("router health", f"{base}/health  {base}/ready"), ("router metrics", f"{base}/metrics")],
    )


def compose_dev_supergraph(subgraphs: list[registry.Subgraph], host: str, directory: Path) -> Path:
    """The selected subgraphs' SDL from code, composed for their dev ports, under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    sources = []
    for subgraph in subgraphs:
        path = directory / f"{subgraph.name}.graphql"
        path.write_text(schema_tools.sdl(subgraph))
        sources.append(
            schema_tools.SubgraphSource(subgraph.name, path, schema_tools.routing_url(subgraph, host, subgraph.port))
        )
    target = directory / schema_tools.SUPERGRAPH_FILE
    candidate = directory / "supergraph.next.graphql"
    schema_tools.compose_files(sources, candidate, install=lambda _on_line: None)
    candidate.replace(target)  # atomic: the router may be watching the file
    return target.resolve()


def load_demo_data(router_url: str, subgraphs: list[registry.Subgraph]) -> None:
    """Hook for `healthcare dev --demo`: `subgraphs/cli/demo.py` provides `load(router_url, subgraphs)`.

    It runs once every service and the router are ready; it should be idempotent (dev restarts
    on the same SQLite files) and talk to the stack only through its public APIs.
    """
    try:
        from . import demo
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.demo":
            raise
        _say("--demo: no demo data yet (the hook is subgraphs/cli/demo.py: load(router_url, subgraphs))")
        return
    demo.load(router_url=router_url, subgraphs=subgraphs)


def run_dev(args: argparse.Namespace) -> int:
    subgraphs = registry.select(args.only)
    with_router = not getattr(args, "no_router", False)
    data_dir = Path("var")
    data_dir.mkdir(exist_ok=True)
    names = [s.name for s in subgraphs] + (["router"] if with_router else [])
    width = max(len(name) for name in names)
    colors = {s.name: COLORS[i % len(COLORS)] for i, s in enumerate(subgraphs)} | {"router": ROUTER_COLOR}
    emit = _printer(width, colors)

    stopping = threading.Event()
    previous_handlers = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Ctrl-C stops the stack even when started from a shell that ignores SIGINT for background jobs.
    previous_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    processes: list[ManagedProcess] = []
    try:
        busy = [s.port for s in subgraphs if not port_is_free(s.port, _client_host(args.host))]
        if with_router and not port_is_free(args.router_port, _client_host(args.host)):
            busy.append(args.router_port)
        if busy:
            _say(f"port(s) {', '.join(map(str, busy))} already in use: is another `healthcare dev` running?")
            return 1

        router: RouterPlan | None = None
        if with_router:
            # Hive Gateway, and the composition for either router, come from router/node_modules.
            ensure_router_packages(lambda line: emit("router", line))
            try:
                supergraph = compose_dev_supergraph(subgraphs, args.host, data_dir / "router")
            except schema_tools.CompositionError as exc:
                _say(f"the subgraphs do not compose, so the router cannot start:\n{exc}")
                _say("fix the SDL, or run some with --only NAME ..., or without the router: --no-router")
                return 1
            drifted = schema_tools.drift(subgraphs, PROJECT_DIR / "schema")
            if drifted:
                emit(
                    "router",
                    "note: schema/ differs from the code; before committing run "
                    "`healthcare schema export && healthcare schema compose`",
                )
            router = plan_router(supergraph, args.host, args.router_port, emit)

        service_urls = service_url_env(subgraphs, args.host)
        for subgraph in subgraphs:
            processes.append(
                ManagedProcess(
                    name=subgraph.name,
                    command=healthcare_command("serve", subgraph.name, "--host", args.host),
                    env=dev_env(subgraph, data_dir, service_urls),
                    ready_url=f"http://{_client_host(args.host)}:{subgraph.port}/ready",
                    on_line=emit,
                )
            )
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready(READY_TIMEOUT_SECONDS)
        if router is not None:
            processes.append(router.process)
            router.process.start()
            router.process.wait_ready(READY_TIMEOUT_SECONDS)
        _print_table(subgraphs, args.host, router)
        if getattr(args, "demo", False):
            if router is None:
                _say("--demo needs the router; ignored with --no-router")
            else:
                load_demo_data(router.url, subgraphs)
        while not stopping.is_set():
            dead = [p.name for p in processes if not p.running]
            if dead:
                _say(f"stopped unexpectedly: {', '.join(dead)}; shutting everything down")
                return 1
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as exc:
        _say(str(exc))
        return 1
    finally:
        # A second Ctrl-C must not abandon half-stopped children: stopping is bounded anyway.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if processes:
            _say("\nstopping ...")
            started = time.monotonic()
            # The router first (no new requests reach the subgraphs), then the subgraphs together.
            stop_all([p for p in processes if p.name == "router"])
            stop_all([p for p in processes if p.name != "router"])
            _say(f"all processes stopped ({time.monotonic() - started:.1f}s)")
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
    return 0


def _print_table(subgraphs: list[registry.Subgraph], host: str, router: RouterPlan | None) -> None:
    rows = [("what", "URL")]
    if router is not None:
        rows.append(("GraphQL explorer" if router.kind == "hive" else "GraphQL endpoint", router.explorer))
        rows.extend(router.extra_urls)
    for subgraph in subgraphs:
        base = f"http://{_client_host(host)}:{subgraph.port}"
        rows.append((f"{subgraph.name} REST docs", f"{base}/docs"))
    for subgraph in subgraphs:
        base = f"http://{_client_host(host)}:{subgraph.port}"
        rows.append((f"{subgraph.name} subgraph", f"{base}/graphql  (router only: needs the router secret)"))
    width = max(len(row[0]) for row in rows)
    with _print_lock:
        print()
        for label, url in rows:
            print(f"  {label.ljust(width)}  {url}")
        print("\nready; Ctrl-C stops everything\n", flush=True)
