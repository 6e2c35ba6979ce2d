"""What the deployment tests share: paths, YAML, the nginx edge run locally, an echo upstream."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from subgraphs.cli.processes import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
EDGE_CONF = ROOT / "deploy" / "nginx" / "edge.conf"
KUBERNETES_BASE = ROOT / "deploy" / "kubernetes" / "base"
COMMAND_TIMEOUT = 120

# The compose services of the subgraphs (the seed's names), by subgraph.
COMPOSE_SERVICE = {
    "auth": "auth-service",
    "appointments": "appointment-service",
    "prescriptions": "prescription-service",
    "admin": "admin-service",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def tool(name: str) -> str:
    """A command-line tool installed by the `test` extra, next to this interpreter."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it comes with the `test` extra (requirements.lock)", pytrace=False)
    return found


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False, **kwargs)


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def load_all_yaml(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --- nginx ---------------------------------------------------------------------------------------


def nginx_binary() -> str:
    """Debian's nginx: skipped where it is not installed, a failure in CI (CI installs it)."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "nginx is not installed (apt-get install -y nginx): the edge tests run deploy/nginx/edge.conf with it"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


UPSTREAM_LINE = re.compile(r"^(?P<lead>\s*set \$(?P<name>\w+)_upstream\s+)(?P<url>\S+);", re.MULTILINE)
UPSTREAM_NAMES = {"router", "auth", "appointments", "prescriptions", "admin"}


def edge_upstreams(text: str) -> dict[str, str]:
    """`{name: url}` of the `set $<name>_upstream <url>;` lines of edge.conf."""
    return {match["name"]: match["url"] for match in UPSTREAM_LINE.finditer(text)}


def local_edge_config(
    upstreams: dict[str, str], port: int, log_dir: Path, replace: dict[str, str] | None = None
) -> str:
    """edge.conf as the project ships it, with its upstreams, its listen address and its log
    path pointed at this machine. Nothing else changes (except `replace`, for a test that needs a
    shorter timeout)."""
    text = EDGE_CONF.read_text()
    assert set(edge_upstreams(text)) == UPSTREAM_NAMES, "edge.conf's upstream lines changed: update the tests"
    assert set(upstreams) == UPSTREAM_NAMES
    text = UPSTREAM_LINE.sub(lambda m: f"{m['lead']}{upstreams[m['name']]};", text)
    listen = "listen 80 default_server;"
    assert text.count(listen) == 1
    text = text.replace(listen, f"listen 127.0.0.1:{port} default_server;")
    assert text.count("/var/log/nginx/") == 1
    text = text.replace("/var/log/nginx/", f"{log_dir}/")
    for old, new in (replace or {}).items():
        assert text.count(old) == 1, f"{old!r} is not once in edge.conf"
        text = text.replace(old, new)
    # No name is left to resolve: the test never asks a DNS server anything.
    directives = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for name in [*COMPOSE_SERVICE.values(), "router"]:
        assert f"{name}:" not in directives, name
    return text


def main_config(prefix: Path) -> str:
    """The http block of the official nginx image's nginx.conf, around edge.conf (so a directive
    edge.conf repeats at http level fails here as it would there), with paths under `prefix`."""
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    return f"""
worker_processes 1;
error_log {prefix}/logs/error.log notice;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    {mime}
    default_type application/octet-stream;
    log_format main '$remote_addr - $remote_user [$time_local] "$request" $status';
    access_log {prefix}/logs/default-access.log main;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/edge.conf;
}}
"""


class Edge:
    """Debian's nginx running deploy/nginx/edge.conf on a free loopback port."""

    def __init__(self, upstreams: dict[str, str], replace: dict[str, str] | None = None) -> None:
        self.binary = nginx_binary()
        # Not under pytest's 0700 tmp folders: nginx's workers (nobody, when the tests run as
        # root) must reach their temp folders for buffered request bodies.
        self.prefix = Path(tempfile.mkdtemp(prefix="healthcare-edge-"))
        self.prefix.chmod(0o755)
        (self.prefix / "logs").mkdir()
        (self.prefix / "temp").mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: ManagedProcess | None = None
        try:
            config = local_edge_config(upstreams, self.port, self.prefix / "logs", replace)
        except BaseException:
            shutil.rmtree(self.prefix, ignore_errors=True)
            raise
        (self.prefix / "edge.conf").write_text(config)
        (self.prefix / "nginx.conf").write_text(main_config(self.prefix))

    def command(self, *args: str) -> list[str]:
        return [
            self.binary,
            "-p",
            str(self.prefix),
            "-c",
            str(self.prefix / "nginx.conf"),
            "-e",
            str(self.prefix / "logs" / "error.log"),
            *args,
        ]

    def check(self) -> subprocess.CompletedProcess:
        return run(self.command("-t"))

    def start(self) -> Edge:
        checked = self.check()
        if checked.returncode != 0:
            self.stop()
            raise AssertionError(f"nginx refused the edge config:\n{checked.stderr}")
        self.process = ManagedProcess(
            name="edge",
            command=self.command("-g", "daemon off;"),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            ready_url=f"{self.url}/healthz",
        )
        self.process.start()
        try:
            self.process.wait_ready(30)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=10)
        shutil.rmtree(self.prefix, ignore_errors=True)

    def access_log(self, request_id: str, timeout: float = 5.0) -> list[dict]:
        """The access-log entries of one request (nginx writes them after the response is sent)."""
        path = self.prefix / "logs" / "access.log"
        deadline = time.monotonic() + timeout
        while True:
            lines = path.read_text().splitlines() if path.exists() else []
            entries = [entry for entry in map(json.loads, filter(None, lines)) if entry.get("request_id") == request_id]
            if entries or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def error_log(self) -> str:
        path = self.prefix / "logs" / "error.log"
        return path.read_text() if path.exists() else ""


# --- an upstream that shows what it received ------------------------------------------------------


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.endswith("/slow"):
            time.sleep(3)
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body_length": len(body),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        # What a service sends too: the edge must leave one copy of each.
        self.send_header("x-frame-options", "DENY")
        self.send_header("x-content-type-options", "nosniff")
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *_args) -> None:  # quiet
        pass


class EchoUpstream:
    """An HTTP server on a free loopback port that answers every request with what it received."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="echo-upstream", daemon=True)

    def __enter__(self) -> EchoUpstream:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"
