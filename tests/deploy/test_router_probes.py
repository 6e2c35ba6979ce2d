"""The router's health checks (compose.yaml's and the Kubernetes probes) run for real with bash
against a stand-in for the Apollo Router's health endpoint on 127.0.0.1:8088: the image has bash
and no curl, so these are plain /dev/tcp requests that must pass on UP and fail otherwise. The
startup probe also asks each subgraph's `/ready` at its routing URL: the same stand-in answers
those here."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .helpers import KUBERNETES_BASE, ROOT, load_all_yaml, load_yaml

HEALTH_PORT = 8088  # router/router.yaml health_check.listen


SUBGRAPHS = ("AUTH", "APPOINTMENTS", "PRESCRIPTIONS", "ADMIN")


class FakeRouterHealth(BaseHTTPRequestHandler):
    ready = True
    subgraphs_ready = True  # what `/ready` (a subgraph's readiness) answers
    requests: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802
        type(self).requests.append((self.path, self.headers.get("host")))
        if self.path == "/ready":
            up = type(self).subgraphs_ready
        elif self.path in ("/health", "/health?ready"):
            up = self.path == "/health" or type(self).ready
        else:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = json.dumps({"status": "UP" if up else "DOWN"}).encode()
        self.send_response(200 if up else 503)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # `grep -q` stops reading at its first match
            self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture
def health() -> Iterator[type[FakeRouterHealth]]:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    handler = type("Health", (FakeRouterHealth,), {"ready": True, "subgraphs_ready": True, "requests": []})
    try:
        server = ThreadingHTTPServer(("127.0.0.1", HEALTH_PORT), handler)
    except OSError as exc:
        pytest.skip(f"127.0.0.1:{HEALTH_PORT} is taken here ({exc}): an Apollo Router running?")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def routing(port: int = HEALTH_PORT) -> dict[str, str]:
    """The router's `<NAME>_ROUTING_URL`s (its ConfigMap sets them), pointing at `port`."""
    return {f"{name}_ROUTING_URL": f"http://127.0.0.1:{port}/graphql" for name in SUBGRAPHS}


def probe(command: list[str], subgraphs: dict[str, str] | None = None) -> int:
    env = {"PATH": os.environ["PATH"], **(routing() if subgraphs is None else subgraphs)}
    return subprocess.run(command, capture_output=True, timeout=10, check=False, env=env).returncode


def compose_check() -> list[str]:
    test = load_yaml(ROOT / "compose.yaml")["services"]["router"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return test[1:]


def kubernetes_probes() -> dict[str, list[str]]:
    router = next(
        doc for doc in load_all_yaml((KUBERNETES_BASE / "router.yaml").read_text()) if doc["kind"] == "Deployment"
    )
    container = router["spec"]["template"]["spec"]["containers"][0]
    return {name: container[name]["exec"]["command"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}


def test_probes_pass_when_the_router_is_up_and_ready(health):
    assert probe(compose_check()) == 0
    for name, command in kubernetes_probes().items():
        assert probe(command) == 0, name
    assert all(host == "localhost" for path, host in health.requests if path.startswith("/health"))
    assert {path for path, _host in health.requests} == {"/health", "/health?ready", "/ready"}


def test_readiness_fails_while_the_router_is_not_ready_and_liveness_does_not(health):
    health.ready = False

    assert probe(compose_check()) != 0
    probes = kubernetes_probes()
    assert probe(probes["readinessProbe"]) != 0
    assert probe(probes["livenessProbe"]) == 0
    assert probe(probes["startupProbe"]) == 0


def test_probes_fail_when_nothing_listens():
    for command in [compose_check(), *kubernetes_probes().values()]:
        assert probe(command) != 0


def test_the_router_starts_only_once_every_subgraph_is_ready(health):
    """The startup probe: until it passes, Kubernetes neither runs the readiness probe nor routes
    traffic to the router; after it, a subgraph failing costs only its own fields."""
    startup = kubernetes_probes()["startupProbe"]
    assert probe(startup) == 0

    health.subgraphs_ready = False
    assert probe(startup) != 0
    assert probe(kubernetes_probes()["livenessProbe"]) == 0

    health.subgraphs_ready = True
    with socket.socket() as closed:  # a port nothing listens on: one subgraph is down
        closed.bind(("127.0.0.1", 0))
        down = closed.getsockname()[1]
    assert probe(startup, {**routing(), "ADMIN_ROUTING_URL": f"http://127.0.0.1:{down}/graphql"}) != 0
    assert probe(startup, {}) != 0  # the routing URLs unset
