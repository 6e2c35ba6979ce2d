"""Starting, watching and stopping the processes of a local stack (used by `dev` and the e2e tests).

Also what running the router needs: its npm packages in router/node_modules (installed with
`npm ci` when missing or stale), the Hive Gateway command, and an Apollo Router binary if one
is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .registry import SUBGRAPHS_DIR

PROJECT_DIR = SUBGRAPHS_DIR.parent
ROUTER_DIR = PROJECT_DIR / "router"
NODE_MODULES = ROUTER_DIR / "node_modules"
# Written after a successful `npm ci`: the hash of what was installed.
INSTALL_STAMP = NODE_MODULES / ".healthcare-installed"
HIVE_GATEWAY_BIN = NODE_MODULES / "@graphql-hive" / "gateway" / "dist" / "bin.js"
APOLLO_GATEWAY_SCRIPT = ROUTER_DIR / "apollo-gateway.mjs"
NPM_CI_TIMEOUT_SECONDS = 900.0

MAX_LINES = 2000


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_url: str
    on_line: Callable[[str, str], None] | None = None
    cwd: str | Path | None = None
    process: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)
    # Lines dropped from the front of `lines` so far; `mark()`/`lines_since()` stay exact.
    dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pump_thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - commands built by this package and its tests
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
        )
        self._pump_thread = threading.Thread(target=self._pump, name=f"pump-{self.name}", daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            line = line.rstrip("\n")
            with self._lock:
                self.lines.append(line)
                if len(self.lines) > MAX_LINES:
                    del self.lines[: MAX_LINES // 2]
                    self.dropped += MAX_LINES // 2
            if self.on_line:
                self.on_line(self.name, line)

    def mark(self) -> int:
        """A position in this process's output; `lines_since(mark)` returns what came after it."""
        with self._lock:
            return self.dropped + len(self.lines)

    def lines_since(self, mark: int) -> list[str]:
        with self._lock:
            return list(self.lines[max(mark - self.dropped, 0) :])

    def tail(self, count: int = 20) -> str:
        with self._lock:
            return "\n".join(self.lines[-count:])

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                self._drain_output()
                raise RuntimeError(f"{self.name} exited before it was ready:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:  # noqa: S310 - local URL
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} was not ready at {self.ready_url} within {timeout:.0f}s:\n{self.tail()}")

    def _drain_output(self) -> None:
        # The process has exited: let the pump read its last words before they are shown.
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=2)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the process group, SIGKILL after `timeout`; returns once it has exited."""
        if self.process is None:
            return
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        # Children the process left behind in its group (it led a new session) go too.
        _signal_group(self.process.pid, signal.SIGKILL)
        self._drain_output()

    def kill(self) -> None:
        """SIGKILL at once, as a crash would: for tests of a subgraph going away."""
        if self.process is not None and self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def stop_all(processes: list[ManagedProcess], timeout: float = 15.0) -> None:
    """SIGTERM to all at once, then wait for all within one `timeout`; SIGKILL whatever is left."""
    for process in processes:
        if process.running and process.pid is not None:
            _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        if process.process is None:
            continue
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(max(deadline - time.monotonic(), 0.1))
    for process in processes:
        process.stop(timeout=5)  # SIGKILL for the stragglers; reaps the group either way


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def healthcare_command(*args: str) -> list[str]:
    """`healthcare ...` run by this interpreter, so it works inside or outside the venv's PATH."""
    return [sys.executable, "-m", "subgraphs.cli.main", *args]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# --- the router's npm packages -------------------------------------------------------------


def node_executable() -> str | None:
    return shutil.which("node")


def router_packages_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((ROUTER_DIR / name).read_bytes())
    # A native addon (the Rust query planner) is built for one Node ABI.
    digest.update(f"node-abi:{_node_abi()}".encode())
    return digest.hexdigest()[:16]


def _node_abi() -> str:
    node = node_executable()
    if node is None:
        return "none"
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [node, "-p", "process.versions.modules"], capture_output=True, text=True, timeout=20, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return "unknown"
    return result.stdout.strip()


def router_packages_state() -> str:
    """`ok`, `missing` (no node_modules) or `stale` (package.json/lock or Node changed since `npm ci`)."""
    if not NODE_MODULES.is_dir() or not HIVE_GATEWAY_BIN.exists():
        return "missing"
    try:
        installed = INSTALL_STAMP.read_text().strip()
    except FileNotFoundError:
        return "stale"
    return "ok" if installed == router_packages_hash() else "stale"


def install_router_packages(on_line: Callable[[str], None] = print) -> None:
    """`npm ci` in router/, its output passed line by line to `on_line`."""
    npm = shutil.which("npm")
    if npm is None or node_executable() is None:
        raise RuntimeError("the router needs Node.js 20+ and npm on PATH (https://nodejs.org)")
    command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=http", "--progress=false"]
    on_line(f"$ cd router && npm {' '.join(command[1:])}")
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [npm, *command[1:]],
        cwd=ROUTER_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    started = time.monotonic()
    fetched = 0
    assert process.stdout is not None
    try:
        for line in process.stdout:
            line = line.rstrip("\n")
            # `--loglevel=http` prints one line per downloaded tarball: show a count, not 800 lines.
            if line.startswith("npm http fetch"):
                fetched += 1
                if fetched % 100 == 0:
                    on_line(f"  ... {fetched} downloads ({time.monotonic() - started:.0f}s)")
                continue
            if line.strip():
                on_line(f"  {line}")
            if time.monotonic() - started > NPM_CI_TIMEOUT_SECONDS:
                raise TimeoutError(f"npm ci took longer than {NPM_CI_TIMEOUT_SECONDS:.0f}s")
        code = process.wait(timeout=60)
    except BaseException:
        _signal_group(process.pid, signal.SIGTERM)
        process.wait(10)
        raise
    if code != 0:
        raise RuntimeError(f"npm ci in router/ failed with exit status {code}")
    INSTALL_STAMP.write_text(router_packages_hash() + "\n")
    on_line(f"router packages installed in {time.monotonic() - started:.0f}s")


def ensure_router_packages(on_line: Callable[[str], None] = print) -> None:
    state = router_packages_state()
    if state == "ok":
        return
    reason = "not installed yet" if state == "missing" else "out of date"
    on_line(f"router packages {reason}: installing them with npm ci ...")
    install_router_packages(on_line)


def hive_gateway_command() -> list[str]:
    node = node_executable()
    if node is None:
        raise RuntimeError("the router needs Node.js 20+ on PATH")
    # Run from router/ (cwd), where Hive Gateway finds gateway.config.ts by itself.
    return [node, str(HIVE_GATEWAY_BIN), "supergraph"]


def apollo_gateway_command() -> list[str]:
    """Apollo Gateway (router/apollo-gateway.mjs): Apollo's own planner, the second router of the
    e2e tests, configured by the same variables as Hive Gateway (docs/router.md)."""
    node = node_executable()
    if node is None:
        raise RuntimeError("the router needs Node.js 20+ on PATH")
    # Run from router/ (cwd), where its default SUPERGRAPH_PATH and node_modules are.
    return [node, str(APOLLO_GATEWAY_SCRIPT)]


def apollo_router_binary() -> str | None:
    """The Apollo Router to run instead of Hive Gateway: $APOLLO_ROUTER_BINARY or `router` on PATH."""
    named = os.environ.get("APOLLO_ROUTER_BINARY")
    if named:
        path = shutil.which(named) or named
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            raise RuntimeError(f"APOLLO_ROUTER_BINARY={named} is not an executable file")
        return path
    return shutil.which("router")


def router_log_level(value: str | None) -> str:
    """LOG_LEVEL as Hive Gateway accepts it (it refuses to start on `INFO` or `WARNING`)."""
    level = (value or "info").strip().lower()
    return {"warning": "warn", "critical": "error", "fatal": "error"}.get(level, level) if level else "info"
