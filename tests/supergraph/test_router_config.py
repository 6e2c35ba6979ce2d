"""router/router.yaml (the Apollo Router's configuration) and router/gateway.config.ts (Hive
Gateway's) say what docs/router.md says; router.yaml is valid for Apollo Router v2.13."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from subgraphs.cli.processes import PROJECT_DIR, ROUTER_DIR, node_executable

from .conftest import APOLLO_SCHEMA_USE

pytestmark = pytest.mark.usefixtures("router_packages")

VALIDATOR = ROUTER_DIR / "validate-router-config.mjs"
# Beside the checkout on developers' machines and in CI; never copied into the project, and the
# project does not need it: without it only the schema validation is skipped.
APOLLO_SCHEMA = Path(
    os.environ.get(
        "APOLLO_ROUTER_CONFIG_SCHEMA",
        PROJECT_DIR.parent / "shared" / "router" / "apollo-router-v2.13-config.schema.json",
    )
)


def validate(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [node_executable(), str(VALIDATOR), str(APOLLO_SCHEMA), str(config)],
        cwd=ROUTER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def router_yaml(env: dict[str, str] | None = None) -> dict:
    completed = subprocess.run(  # noqa: S603
        [node_executable(), str(VALIDATOR), "--json", str(ROUTER_DIR / "router.yaml")],
        cwd=ROUTER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(completed.stdout)


@pytest.fixture
def apollo_schema() -> Path:
    if not APOLLO_SCHEMA.is_file():
        message = f"Apollo Router config schema ABSENT ({APOLLO_SCHEMA}): router.yaml was not validated against it"
        APOLLO_SCHEMA_USE.append(message)
        print(message)
        pytest.skip(f"no Apollo Router configuration schema at {APOLLO_SCHEMA} (set APOLLO_ROUTER_CONFIG_SCHEMA)")
    message = f"Apollo Router config schema USED: router.yaml validated against {APOLLO_SCHEMA}"
    APOLLO_SCHEMA_USE.append(message)
    print(message)
    return APOLLO_SCHEMA


def test_router_yaml_is_valid_for_apollo_router_2_13(apollo_schema):
    completed = validate(ROUTER_DIR / "router.yaml")

    assert completed.returncode == 0, completed.stderr
    assert "is valid" in completed.stdout


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("introspection: false", "introspection: nope", "/supergraph/introspection must be boolean"),
        ("  path: /health\n", "  path: /health\n  interval: 5s\n", "/health_check must NOT have additional properties"),
        ("csrf:\n", "csrf_protection:\n", "must NOT have additional properties"),
    ],
)
def test_the_validator_rejects_what_apollo_router_would(apollo_schema, tmp_path, old, new, complaint):
    text = (ROUTER_DIR / "router.yaml").read_text()
    assert old in text
    broken = tmp_path / "router.yaml"
    broken.write_text(text.replace(old, new, 1))

    completed = validate(broken)

    assert completed.returncode == 1
    assert complaint in completed.stderr


def test_router_yaml_propagates_headers_and_inserts_the_secret_from_the_environment():
    config = router_yaml({"ROUTER_SECRET": "s3cret"})

    operations = config["headers"]["all"]["request"]
    propagated = [op["propagate"]["named"] for op in operations if "propagate" in op]
    inserted = [op["insert"] for op in operations if "insert" in op]
    assert propagated == ["authorization", "x-request-id", "x-forwarded-for"]
    # Trace context: the router's own propagation (its span becomes the subgraphs' parent).
    assert config["telemetry"]["exporters"]["tracing"]["propagation"] == {"trace_context": True}
    assert config["telemetry"]["exporters"]["tracing"]["otlp"]["enabled"] is False
    assert router_yaml({"ROUTER_OTLP_TRACES": "true"})["telemetry"]["exporters"]["tracing"]["otlp"]["enabled"] is True
    assert inserted == [{"name": "x-router-secret", "value": "s3cret"}]
    assert "${env.ROUTER_SECRET}" in (ROUTER_DIR / "router.yaml").read_text()  # no default: must be set


def test_router_yaml_listens_on_loopback_and_keeps_introspection_off():
    config = router_yaml()

    assert config["supergraph"]["listen"] == "127.0.0.1:4000"
    assert config["supergraph"]["path"] == "/graphql"
    assert config["supergraph"]["introspection"] is False
    assert config["sandbox"] == {"enabled": False} and config["homepage"] == {"enabled": False}
    assert config["health_check"]["listen"] == "127.0.0.1:8088"
    assert config["include_subgraph_errors"] == {"all": True}
    assert config["csrf"]["required_headers"] == ["x-apollo-operation-name", "apollo-require-preflight"]


def test_router_yaml_cors_never_allows_any_origin_with_credentials():
    config = router_yaml({"ROUTER_CORS_ORIGIN": "https://app.example.org"})

    assert config["cors"]["allow_any_origin"] is False
    (policy,) = config["cors"]["policies"]
    assert policy["origins"] == ["https://app.example.org"]
    assert policy["allow_credentials"] is True
    assert "*" not in policy["origins"]


def test_router_yaml_subgraph_timeout_is_shorter_than_the_client_timeout():
    config = router_yaml()

    def seconds(value: str) -> float:
        assert value.endswith("s"), value
        return float(value[:-1])

    assert seconds(config["traffic_shaping"]["all"]["timeout"]) < seconds(
        config["traffic_shaping"]["router"]["timeout"]
    )


def test_gateway_config_is_the_only_one_hive_gateway_can_pick_up():
    # Hive Gateway loads gateway.config.* from its working directory by itself (docs/pitfalls.md #8).
    configs = sorted(path.name for path in ROUTER_DIR.glob("gateway.config.*"))
    assert configs == ["gateway.config.ts"]


def test_router_package_versions_are_pinned_exactly_and_locked():
    package = json.loads((ROUTER_DIR / "package.json").read_text())
    lock = json.loads((ROUTER_DIR / "package-lock.json").read_text())

    for section in ("dependencies", "devDependencies"):
        for name, version in package[section].items():
            assert version[0].isdigit(), f"{name}@{version} is not an exact version"
            assert lock["packages"][f"node_modules/{name}"]["version"] == version
    for name in ("@apollo/composition", "@graphql-hive/gateway", "@graphql-hive/router-runtime"):
        assert name in package["dependencies"]


def test_every_locked_package_supports_the_node_the_project_runs_on():
    lock = json.loads((ROUTER_DIR / "package-lock.json").read_text())
    checker = (
        "const semver = require('semver'); const lock = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const bad = Object.entries(lock.packages).filter(([, p]) => p.engines && p.engines.node"
        " && !semver.satisfies(process.versions.node, p.engines.node)).map(([k, p]) => k + ' ' + p.engines.node);"
        "console.log(JSON.stringify(bad));"
    )
    completed = subprocess.run(  # noqa: S603
        [node_executable(), "-e", checker],
        input=json.dumps(lock),
        cwd=ROUTER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert json.loads(completed.stdout) == []


def test_the_gateway_knows_the_same_development_secret_as_the_subgraphs():
    import re

    from subgraphs.kit.settings import DEV_ROUTER_SECRET

    text = (ROUTER_DIR / "gateway.config.ts").read_text()
    assert re.search(r"const DEV_ROUTER_SECRET = '([^']+)';", text).group(1) == DEV_ROUTER_SECRET
