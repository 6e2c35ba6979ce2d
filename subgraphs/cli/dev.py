"""`healthcare dev`: every subgraph on its own port and SQLite file, logs in one stream."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from . import registry
from .processes import ManagedProcess, healthcare_command

COLORS = ["36", "35", "33", "32", "34", "31"]
_print_lock = threading.Lock()


def _printer(width: int, color_of: dict[str, str]):
    use_color = sys.stdout.isatty()

    def emit(name: str, line: str) -> None:
        label = name.ljust(width)
        if use_color:
            label = f"\033[{color_of[name]}m{label}\033[0m"
        with _print_lock:
            print(f"{label} | {line}", flush=True)

    return emit


def dev_env(subgraph: registry.Subgraph, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HEALTHCARE_ENV", "development")
    env["HEALTHCARE_DATA_DIR"] = str(data_dir)
    # SQLite files under var/ unless this service's own URL is set explicitly.
    env["DATABASE_URL"] = f"sqlite:///{data_dir}/{subgraph.name}.db"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_dev(args: argparse.Namespace) -> int:
    subgraphs = registry.select(args.only)
    data_dir = Path("var")
    data_dir.mkdir(exist_ok=True)
    width = max(len(s.name) for s in subgraphs)
    emit = _printer(width, {s.name: COLORS[i % len(COLORS)] for i, s in enumerate(subgraphs)})

    processes = [
        ManagedProcess(
            name=subgraph.name,
            command=healthcare_command("serve", subgraph.name, "--host", args.host),
            env=dev_env(subgraph, data_dir),
            ready_url=f"http://{args.host}:{subgraph.port}/ready",
            on_line=emit,
        )
        for subgraph in subgraphs
    ]
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()
        _print_table(subgraphs, args.host)
        while not stopping.is_set():
            if any(not process.running for process in processes):
                dead = [p.name for p in processes if not p.running]
                print(f"stopped unexpectedly: {', '.join(dead)}; shutting down", file=sys.stderr)
                return 1
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        print("\nstopping ...", flush=True)
        for process in reversed(processes):
            process.stop()
        print("all processes stopped", flush=True)
    return 0


def _print_table(subgraphs: list[registry.Subgraph], host: str) -> None:
    rows = [("service", "REST docs", "subgraph (router only)")]
    for subgraph in subgraphs:
        base = f"http://{host}:{subgraph.port}"
        rows.append((subgraph.name, f"{base}/docs", f"{base}/graphql"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    with _print_lock:
        print()
        for row in rows:
            print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
        print("\nready; Ctrl-C stops everything\n", flush=True)
