"""A real stack for end-to-end tests: every subgraph of the registry (uvicorn, `healthcare serve`),
the echo subgraph of these tests, and Hive Gateway in front (Apollo Gateway beside it on request),
on free loopback ports, SQLite files in a temporary folder."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest

from subgraphs.cli import registry
from subgraphs.cli import schema as schema_tools
from subgraphs.cli.processes import (
    ROUTER_DIR,
    ManagedProcess,
    apollo_gateway_command,
    ensure_router_packages,
    free_port,
    healthcare_command,
    hive_gateway_command,
    node_executable,
    router_packages_state,
    stop_all,
)

from .echo_subgraph import schema as echo_schema

READY_TIMEOUT = 90.0
HTTP_TIMEOUT = 30.0
ECHO = "echo"
# The routers a stack can put in front: Hive Gateway (what `healthcare dev` runs) and Apollo Gateway
# (Apollo's own planner, router/apollo-gateway.mjs), whose answers the tests compare.
HIVE = "hive"
APOLLO = "apollo"
ROUTERS = (HIVE, APOLLO)
# A test that is about Hive Gateway's own plugins or settings runs through it alone.
HIVE_ONLY = pytest.mark.parametrize("router", [HIVE])
# Only what a process needs from the outside; nothing else leaks in (a developer's DATABASE_URL, ...).
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_router_packages() -> None:
    """Hive Gateway must be installed: CI installs it first (a missing install is a failure there);
    elsewhere the tests install it themselves, as `healthcare dev` would."""
    if node_executable() is None:
        message = "the e2e tests need Node.js 20+ on PATH (the router is Hive Gateway)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    state = router_packages_state()
    if state == "ok":
        return
    if in_ci():
        pytest.fail(
            f"router/node_modules is {state}: CI must run `npm ci --prefix router` before the tests",
            pytrace=False,
        )
    ensure_router_packages(lambda line: print(f"[npm] {line}", file=sys.stderr, flush=True))


def base_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _INHERITED if name in os.environ}


@dataclass
class Stack:
    directory: Path
    secret: str
    subgraph_ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    routers: list[ManagedProcess] = field(default_factory=list)
    supergraph: Path | None = None
    # Where `graphql()` sends by default: Hive Gateway's URL, or Apollo's in a view from `via()`.
    router_url: str = ""
    router_kind: str = HIVE
    urls: dict[str, str] = field(default_factory=dict)  # each started router kind's first URL
    subgraph_overrides: dict[str, str] = field(default_factory=dict)  # on top of subgraph_env's

    # --- starting and stopping ---

    def subgraph_env(self, name: str) -> dict[str, str]:
        env = base_env()
        database_url = f"sqlite:///{self.directory / f'{name}.db'}"
        env.update(
            HEALTHCARE_ENV="development",
            HEALTHCARE_DATA_DIR=str(self.directory / "data"),
            DATABASE_URL=database_url,
            **{f"{name.upper()}_DATABASE_URL": database_url},
            ROUTER_SECRET=self.secret,
            PASSWORD_TIME_COST="1",
            PASSWORD_MEMORY_KIB="1024",
            # Every test registers its own users, through both routers, all from 127.0.0.1.
            REGISTRATION_MAX_PER_ADDRESS="100000",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.subgraph_overrides)
        for other, port in self.subgraph_ports.items():
            url = f"http://127.0.0.1:{port}"
            env[f"{other.upper()}_SERVICE_URL"] = url
            if other.endswith("s"):  # the seed's names: APPOINTMENT_SERVICE_URL, ...
                env[f"{other[:-1].upper()}_SERVICE_URL"] = url
        return env

    def start_subgraphs(self, names: list[str]) -> None:
        for name in [*names, ECHO]:
            self.subgraph_ports[name] = free_port()
        for name in names:
            self.processes[name] = ManagedProcess(
                name=name,
                command=healthcare_command("serve", name, "--port", str(self.subgraph_ports[name])),
                env=self.subgraph_env(name),
                ready_url=f"http://127.0.0.1:{self.subgraph_ports[name]}/ready",
            )
        self.processes[ECHO] = ManagedProcess(
            name=ECHO,
            command=[
                sys.executable,
                "-m",
                "uvicorn",
                "tests.e2e.echo_subgraph:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.subgraph_ports[ECHO]),
                "--no-access-log",
            ],
            env={**base_env(), "PYTHONUNBUFFERED": "1"},
            cwd=schema_tools.PROJECT_DIR,
            ready_url=f"http://127.0.0.1:{self.subgraph_ports[ECHO]}/ready",
        )
        for process in self.processes.values():
            process.start()
        for process in self.processes.values():
            process.wait_ready(READY_TIMEOUT)

    def compose(self) -> Path:
        """The supergraph of what runs (the code's SDL, this stack's ports) in a temporary file."""
        from strawberry.printer import print_schema

        sources = []
        for name, port in self.subgraph_ports.items():
            path = self.directory / f"{name}.graphql"
            sdl = print_schema(echo_schema) if name == ECHO else schema_tools.sdl(registry.SUBGRAPHS[name])
            path.write_text(sdl + ("\n" if not sdl.endswith("\n") else ""))
            sources.append(schema_tools.SubgraphSource(name, path, f"http://127.0.0.1:{port}/graphql"))
        self.supergraph = self.directory / "supergraph.graphql"
        schema_tools.compose_files(sources, self.supergraph, install=lambda _on_line: None)
        return self.supergraph

    def router_env(self, port: int, **overrides: str) -> dict[str, str]:
        env = base_env()
        env.update(
            HEALTHCARE_ENV="development",
            SUPERGRAPH_PATH=str(self.supergraph),
            ROUTER_HOST="127.0.0.1",
            ROUTER_PORT=str(port),
            ROUTER_SECRET=self.secret,
            CORS_ORIGINS="http://127.0.0.1:5173",
            SUBGRAPH_TIMEOUT_MS="3000",
            REQUEST_DEADLINE_MS="20000",
            LOG_LEVEL="info",
            NO_COLOR="1",
        )
        env.update(overrides)
        return {name: value for name, value in env.items() if value is not None}

    def start_router(self, *, kind: str = HIVE, wait: bool = True, **env_overrides: str) -> tuple[ManagedProcess, str]:
        """A router of `kind` (HIVE or APOLLO) in front of this stack's subgraphs; both read the
        same variables (router_env)."""
        port = free_port()
        process = ManagedProcess(
            name=f"router-{len(self.routers)}-{kind}",
            command={HIVE: hive_gateway_command, APOLLO: apollo_gateway_command}[kind](),
            env=self.router_env(port, **env_overrides),
            cwd=ROUTER_DIR,
            # The supergraph is loaded: tests start partial stacks on purpose, so not `/ready`,
            # which also waits for every subgraph (tests/observability/test_federated_trace.py).
            ready_url=f"http://127.0.0.1:{port}/ready/supergraph",
        )
        self.routers.append(process)
        process.start()
        if wait:
            process.wait_ready(READY_TIMEOUT)
        url = f"http://127.0.0.1:{port}"
        self.urls.setdefault(kind, url)
        return process, url

    def start(self, names: list[str] | None = None, routers: Iterable[str] = (HIVE,)) -> Stack:
        self.start_subgraphs(names if names is not None else list(registry.SUBGRAPHS))
        self.compose()
        for kind in routers:
            self.start_router(kind=kind)
        self.router_url = self.urls.get(HIVE, "")
        return self

    @property
    def apollo_url(self) -> str:
        return self.urls[APOLLO]

    def via(self, kind: str) -> Stack:
        """This stack with `graphql()`/`data()` sent through the router `kind` by default (its
        processes and routers shared, not copied)."""
        return replace(self, router_url=self.urls[kind], router_kind=kind)

    def stop(self) -> None:
        stop_all(self.routers)
        stop_all(list(self.processes.values()))

    def logs(self) -> str:
        """Every process's last lines, for assertion messages."""
        parts = []
        for process in [*self.routers, *self.processes.values()]:
            parts.append(f"--- {process.name} (running={process.running})\n{process.tail(30)}")
        return "\n".join(parts)

    # --- talking to it ---

    @property
    def router(self) -> ManagedProcess:
        """The first router started: the stack's Hive Gateway."""
        return self.routers[0]

    def graphql(
        self,
        query: str,
        variables: dict | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        url: str | None = None,
        router: str | None = None,
    ) -> httpx.Response:
        """One GraphQL request to `url`, else to the router `router` (HIVE, APOLLO), else to
        this stack's `router_url`."""
        url = url or (self.urls[router] if router else self.router_url)
        sent = {"content-type": "application/json"}
        if token:
            sent["authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        return httpx.post(
            f"{url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=sent,
            timeout=HTTP_TIMEOUT,
        )

    def data(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        """The `data` of a query that must succeed without errors."""
        response = self.graphql(query, variables, **kwargs)
        assert response.status_code == 200, f"{response.status_code} {response.text}\n{self.logs()}"
        body = response.json()
        assert not body.get("errors"), f"{body['errors']}\n{self.logs()}"
        return body["data"]

    def settle(self, subgraph: str, timeout: float = 15.0) -> None:
        """Waits until `subgraph` has logged everything it served before now.

        A subgraph writes its access line just after sending the response, so a client can have
        its answer before the line is out. A request sent now is logged after those: once its own
        line has been read, so have theirs."""
        sentinel = f"sentinel-{uuid.uuid4().hex}"
        mark = self.processes[subgraph].mark()
        httpx.get(
            f"http://127.0.0.1:{self.subgraph_ports[subgraph]}/ready",
            headers={"x-request-id": sentinel},
            timeout=HTTP_TIMEOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(sentinel in line for line in self.processes[subgraph].lines_since(mark)):
                return
            time.sleep(0.05)
        raise TimeoutError(f"{subgraph} did not log request {sentinel} within {timeout}s")

    def graphql_fetches(self, subgraph: str, request_id: str, since: int = 0) -> list[dict]:
        """The `/graphql` requests `subgraph` logged for one client request (its access log)."""
        self.settle(subgraph)
        fetches = []
        for line in self.processes[subgraph].lines_since(since):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if (
                entry.get("logger") == "access"
                and entry.get("path") == "/graphql"
                and entry.get("request_id") == request_id
            ):
                fetches.append(entry)
        return fetches

    # --- users ---

    def register_and_login(self, role: str = "PATIENT") -> dict:
        email = f"{role.lower()}-{uuid.uuid4().hex[:12]}@example.org"
        password = "correct horse battery staple"
        user = self.data(
            """mutation Register($input: RegisterInput!) {
                 register(input: $input) { id email fullName role }
               }""",
            {"input": {"email": email, "password": password, "fullName": f"E2E {role.title()}", "role": role}},
        )["register"]
        tokens = self.data(
            "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken } }",
            {"email": email, "password": password},
        )["login"]
        return {**user, "password": password, "token": tokens["accessToken"]}


def new_stack(directory: Path) -> Stack:
    return Stack(directory=directory, secret=f"e2e-{secrets.token_hex(16)}")
