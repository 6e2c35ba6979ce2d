"""`healthcare dev`: the whole stack in one command, and nothing left behind after Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from subgraphs.cli import dev, registry
from subgraphs.cli.processes import ROUTER_DIR, free_port, healthcare_command, port_is_free

from .stack import HTTP_TIMEOUT, base_env, in_ci

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 180.0
STOP_TIMEOUT = 60.0


def children_of(pid: int) -> set[int]:
    """Direct children of `pid`, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def alive_in_groups(groups: set[int]) -> list[str]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) in groups and fields[0] != "Z":
            alive.append(stat[:120])
    return alive


@pytest.fixture
def dev_ports_free():
    busy = [s.port for s in registry.SUBGRAPHS.values() if not port_is_free(s.port)]
    if busy:
        message = f"`healthcare dev` uses fixed ports and {busy} are taken (another `healthcare dev`?)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dev_runs_the_stack_answers_through_the_router_and_ctrl_c_stops_everything(tmp_path, dev_ports_free):
    from .stack import require_router_packages

    require_router_packages()
    router_port = free_port()
    env = {
        **base_env(),
        "PASSWORD_TIME_COST": "1",
        "PASSWORD_MEMORY_KIB": "1024",
        "PYTHONUNBUFFERED": "1",
    }
    output: list[str] = []
    ready = threading.Event()
    process = subprocess.Popen(  # noqa: S603 - our own command
        healthcare_command("dev", "--router-port", str(router_port)),
        cwd=tmp_path,  # var/ (SQLite files, keys, the dev supergraph) lands here
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            if "ready; Ctrl-C stops everything" in line:
                ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    children: set[int] = set()
    try:
        assert ready.wait(READY_TIMEOUT), "\n".join(output[-60:])
        children = children_of(process.pid)
        url = f"http://127.0.0.1:{router_port}/graphql"

        body = httpx.post(url, json={"query": "{ __typename me { id } }"}, timeout=HTTP_TIMEOUT).json()

        assert body["data"] == {"__typename": "Query", "me": None}
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "serviceName": "auth"}
        assert len(children) == len(registry.SUBGRAPHS) + 1  # every subgraph and the router
        table = [line.split() for line in output if line.startswith("  ")]
        assert ["GraphQL", "explorer", f"http://127.0.0.1:{router_port}/graphql"] in table
        for subgraph in registry.SUBGRAPHS.values():
            assert [subgraph.name, "REST", "docs", f"http://127.0.0.1:{subgraph.port}/docs"] in table
            # Logs: every line of a service carries its name.
            assert any(line.startswith(f"{subgraph.name} ") and " | " in line for line in output)
        assert (tmp_path / "var" / "auth.db").exists()  # SQLite files under the working directory's var/
        assert any(line.startswith("router") and " | " in line for line in output)
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        try:
            code = process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child, signal.SIGKILL)
            raise
        reader.join(10)

    assert code == 0, "\n".join(output[-40:])
    assert "all processes stopped" in "\n".join(output[-10:])
    # Every child led its own process group: none of them, nor anything they started, is left.
    assert alive_in_groups(children) == []
    assert port_is_free(router_port)
    for subgraph in registry.SUBGRAPHS.values():
        assert port_is_free(subgraph.port)


def test_the_apollo_router_is_used_when_one_is_installed(tmp_path, monkeypatch):
    fake = tmp_path / "router"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    supergraph = tmp_path / "supergraph.graphql"
    monkeypatch.setenv("APOLLO_ROUTER_BINARY", str(fake))
    monkeypatch.delenv("HEALTHCARE_ENV", raising=False)
    monkeypatch.delenv("ROUTER_SECRET", raising=False)

    plan = dev.plan_router(supergraph, "127.0.0.1", 4000, on_line=None)

    assert plan.kind == "apollo"
    assert plan.process.command == [
        str(fake),
        "--config",
        str(ROUTER_DIR / "router.yaml"),
        "--supergraph",
        str(supergraph),
        "--dev",
    ]
    assert plan.process.env["ROUTER_LISTEN"] == "127.0.0.1:4000"
    assert plan.process.env["ROUTER_SECRET"] == dev.DEV_ROUTER_SECRET
    assert plan.process.ready_url == "http://127.0.0.1:8088/health?ready"


def test_hive_gateway_is_used_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("APOLLO_ROUTER_BINARY", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setattr(dev, "apollo_router_binary", lambda: None)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    plan = dev.plan_router(tmp_path / "supergraph.graphql", "127.0.0.1", 4100, on_line=None)

    assert plan.kind == "hive"
    assert plan.process.command[1:] == [
        str(ROUTER_DIR / "node_modules/@graphql-hive/gateway/dist/bin.js"),
        "supergraph",
    ]
    assert plan.process.cwd == ROUTER_DIR
    assert plan.process.env["ROUTER_PORT"] == "4100"
    assert plan.process.env["LOG_LEVEL"] == "warn"  # Hive Gateway refuses Python's level names
    assert plan.process.ready_url == "http://127.0.0.1:4100/ready"


def test_a_named_apollo_router_that_is_not_executable_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("APOLLO_ROUTER_BINARY", str(tmp_path / "missing-router"))

    with pytest.raises(RuntimeError, match="APOLLO_ROUTER_BINARY"):
        dev.plan_router(tmp_path / "supergraph.graphql", "127.0.0.1", 4000, on_line=None)


def test_dev_refuses_to_start_on_busy_ports(tmp_path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        completed = subprocess.run(  # noqa: S603
            healthcare_command("dev", "--only", "auth", "--router-port", str(port)),
            cwd=tmp_path,
            env=base_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert completed.returncode == 1
    assert "already in use" in completed.stdout
    assert str(port) in completed.stdout.split("already in use")[0]


def test_the_demo_hook_calls_load_once_the_stack_is_ready(monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("subgraphs.cli.demo")
    fake.load = lambda **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "subgraphs.cli.demo", fake)
    subgraphs = list(registry.SUBGRAPHS.values())

    dev.load_demo_data("http://127.0.0.1:4000/graphql", subgraphs)

    assert calls == [{"router_url": "http://127.0.0.1:4000/graphql", "subgraphs": subgraphs}]
