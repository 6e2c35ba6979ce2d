"""The stack under test: four subgraphs and Hive Gateway, in production mode, on free loopback ports.

Like `tests/e2e/stack.py`, but production-shaped: `HEALTHCARE_ENV=production` with secrets made
for the run (ROUTER_SECRET, SECRET_KEY, an EC P-256 JWT signing key), PostgreSQL databases of its
own (or SQLite files), one uvicorn worker per subgraph unless told otherwise. Each process writes
its output to a file (not a pipe read by a thread of the client: that would steal the client's
CPU and GIL), and the bench reads CPU time and memory of every process from /proc.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ...kit.db import execute_outside_transaction
from .. import registry
from .. import schema as schema_tools
from ..processes import ROUTER_DIR, ensure_router_packages, free_port, hive_gateway_command
from . import procstats

READY_TIMEOUT = 120.0
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def generate_secrets() -> dict[str, str]:
    """What production refuses to start without, made fresh for this run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "ROUTER_SECRET": secrets.token_urlsafe(32),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "JWT_PRIVATE_KEYS": pem,
    }


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    ready_url: str
    cwd: Path | None = None
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed after Popen
        try:
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited before it was ready:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} was not ready at {self.ready_url} within {timeout:.0f}s:\n{self.tail()}")

    def pids(self) -> list[int]:
        """This process and its descendants (a uvicorn with workers, a forking gateway)."""
        if self.popen is None or not self.running:
            return []
        return procstats.tree(self.popen.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@dataclass
class Databases:
    """One database per service that owns tables: PostgreSQL (created and dropped here) or SQLite files."""

    kind: str  # "postgresql" | "sqlite"
    directory: Path
    base_url: str = DEFAULT_POSTGRES
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    urls: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def create(self, names: list[str]) -> dict[str, str]:
        from sqlalchemy.engine import make_url

        for name in names:
            if self.kind == "sqlite":
                self.urls[name] = f"sqlite:///{self.directory / f'{name}.db'}"
                continue
            database = f"hc_bench_{name}_{self.suffix}"
            self._admin(f'CREATE DATABASE "{database}"')
            self.created.append(database)
            self.urls[name] = make_url(self.base_url).set(database=database).render_as_string(hide_password=False)
        return self.urls

    def drop(self) -> None:
        if self.created:
            self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.created))
            self.created.clear()

    def _admin(self, *statements: str) -> None:
        execute_outside_transaction(self.base_url, *statements)

    def backend_pids(self) -> list[int]:
        """PostgreSQL server processes serving this run's databases (their CPU is the stack's too)."""
        if self.kind != "postgresql" or not self.created:
            return []
        import psycopg2

        connection = psycopg2.connect(self.base_url)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", (self.created,))
                return [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()


@dataclass
class BenchStack:
    directory: Path
    databases: Databases
    workers: int = 1
    count: bool = True
    loop: str = "auto"
    http: str = "auto"
    extra_env: dict[str, str] = field(default_factory=dict)
    router_env: dict[str, str] = field(default_factory=dict)
    # The source tree the subgraphs run from (another checkout, for before/after comparisons).
    source_dir: Path | None = None
    secrets: dict[str, str] = field(default_factory=generate_secrets)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    router_url: str = ""

    @property
    def secret(self) -> str:
        return self.secrets["ROUTER_SECRET"]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def base_env(self) -> dict[str, str]:
        return {name: os.environ[name] for name in _INHERITED if name in os.environ}

    def subgraph_env(self, name: str) -> dict[str, str]:
        env = self.base_env()
        env.update(self.secrets)
        env.update(
            HEALTHCARE_ENV="production",
            HEALTHCARE_DATA_DIR=str(self.directory / "data"),
            # Seeding speed only: the few real users are registered through the API (argon2id at
            # its lowest cost). No scenario signs in during the measurements.
            PASSWORD_TIME_COST="1",
            PASSWORD_MEMORY_KIB="1024",
            LOG_LEVEL="INFO",
        )
        if name in self.databases.urls:
            env["DATABASE_URL"] = self.databases.urls[name]
            env[f"{name.upper()}_DATABASE_URL"] = self.databases.urls[name]
        for other in registry.SUBGRAPHS:
            if other in self.ports:
                env[f"{other.upper()}_SERVICE_URL"] = self.url(other)
                if other.endswith("s"):  # APPOINTMENT_SERVICE_URL, PRESCRIPTION_SERVICE_URL
                    env[f"{other[:-1].upper()}_SERVICE_URL"] = self.url(other)
        if self.source_dir is not None:
            env["PYTHONPATH"] = str(self.source_dir)
        env.update(self.extra_env)
        return env

    def subgraph_command(self, name: str) -> list[str]:
        command = [sys.executable, "-m", "subgraphs.cli.bench.serve", name, "--port", str(self.ports[name])]
        command += ["--workers", str(self.workers), "--loop", self.loop, "--http", self.http]
        if self.count:
            command += ["--count", "--capture"]
        return command

    def start(self, on_line=print) -> BenchStack:
        names = list(registry.SUBGRAPHS)
        for name in [*names, "router"]:
            self.ports[name] = free_port()
        for name in names:
            self.processes[name] = Process(
                name=name,
                command=self.subgraph_command(name),
                env=self.subgraph_env(name),
                log_path=self.directory / "logs" / f"{name}.log",
                ready_url=f"{self.url(name)}/ready",
                cwd=self.source_dir or schema_tools.PROJECT_DIR,
            )
        for name in names:
            self.processes[name].start()
        try:
            for name in names:
                self.processes[name].wait_ready()
            ensure_router_packages(on_line)
            supergraph = self.compose()
            env = self.base_env()
            env.update(
                HEALTHCARE_ENV="production",
                SUPERGRAPH_PATH=str(supergraph),
                ROUTER_HOST="127.0.0.1",
                ROUTER_PORT=str(self.ports["router"]),
                ROUTER_SECRET=self.secret,
                LOG_LEVEL="info",
                NO_COLOR="1",
            )
            env.update(self.router_env)
            self.processes["router"] = Process(
                name="router",
                command=hive_gateway_command(),
                env=env,
                log_path=self.directory / "logs" / "router.log",
                ready_url=f"{self.url('router')}/ready",
                # The tree's own gateway.config.ts, so `compare` measures router changes too (the
                # tree's router/ needs node_modules: a copy can link this tree's).
                cwd=self.source_dir / "router" if self.source_dir is not None else ROUTER_DIR,
            )
            self.processes["router"].start()
            self.processes["router"].wait_ready()
        except BaseException:
            self.stop()
            raise
        self.router_url = self.url("router")
        return self

    def compose(self) -> Path:
        """The supergraph of the code that runs, with this stack's ports."""
        sources = []
        for name, subgraph in registry.SUBGRAPHS.items():
            path = self.directory / f"{name}.graphql"
            text = schema_tools.sdl(subgraph)
            path.write_text(text if text.endswith("\n") else text + "\n")
            sources.append(schema_tools.SubgraphSource(name, path, f"{self.url(name)}/graphql"))
        out = self.directory / "supergraph.graphql"
        schema_tools.compose_files(sources, out, install=lambda _on_line: None)
        return out

    def stop(self) -> None:
        router = self.processes.get("router")
        if router is not None:
            router.stop()
        for name, process in self.processes.items():
            if name != "router":
                process.stop()

    def pids(self) -> dict[str, list[int]]:
        found = {name: process.pids() for name, process in self.processes.items()}
        found["postgresql"] = self.databases.backend_pids()
        return found
