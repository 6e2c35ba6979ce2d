"""compose.yaml: valid against the Compose specification's JSON schema (the copy check-jsonschema
ships, so offline), and what the schema cannot see: start order, health checks, which secret
reaches which container, the env file, the names the services read, the files it mounts."""

from __future__ import annotations

import copy
import re
import secrets
import shutil
import subprocess

import pytest
import yaml
from pydantic import AliasChoices

from subgraphs.cli import registry
from subgraphs.kit.app import refuse_development_secrets
from subgraphs.kit.db import async_url, sync_url

from .helpers import COMPOSE_SERVICE, EDGE_CONF, ROOT, edge_upstreams, load_yaml, run, tool

COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
COMPOSE = load_yaml(COMPOSE_FILE)
SERVICES = COMPOSE["services"]
SUBGRAPH_OF = {service: name for name, service in COMPOSE_SERVICE.items()}


def validate(path) -> subprocess.CompletedProcess:
    return run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)])


# --- the Compose specification -----------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec():
    result = validate(COMPOSE_FILE)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            lambda c: c["services"]["router"]["depends_on"]["auth-service"].update(condition="healthy"),
            "service_healthy",
        ),
        (lambda c: c["services"]["db"].update(enviroment=c["services"]["db"].pop("environment")), "enviroment"),
        (lambda c: c["services"]["db"]["healthcheck"].update(interval=10), "interval"),
        (lambda c: c["volumes"].update(pgdata={"drivr": "local"}), "drivr"),
    ],
)
def test_the_same_validator_refuses_a_broken_compose_file(tmp_path, breakage, expected):
    broken = copy.deepcopy(COMPOSE)
    breakage(broken)
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))

    result = validate(path)

    assert result.returncode != 0
    assert expected in result.stdout


# --- what runs -----------------------------------------------------------------------------------


def test_the_services_are_the_seeds_plus_router_and_edge():
    assert set(SERVICES) == {"db", *COMPOSE_SERVICE.values(), "router", "api-gateway"}
    for service, subgraph in SUBGRAPH_OF.items():
        assert SERVICES[service]["environment"]["SERVICE"] == subgraph


def test_every_container_has_a_health_check():
    for name, service in SERVICES.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] == "CMD", name


def depends(name: str) -> dict[str, dict]:
    return SERVICES[name].get("depends_on", {})


def test_start_order_waits_for_health_and_has_no_cycle():
    for name in SERVICES:
        for target, condition in depends(name).items():
            assert target in SERVICES, (name, target)
            assert condition == {"condition": "service_healthy"}, (name, target, condition)

    order: list[str] = []
    remaining = set(SERVICES)
    while remaining:
        ready = sorted(name for name in remaining if set(depends(name)) <= set(order))
        assert ready, f"cycle among {remaining}"
        order.extend(ready)
        remaining -= set(ready)
    assert order.index("db") < order.index("auth-service") < order.index("router") < order.index("api-gateway")


def test_services_owning_tables_wait_for_the_database_and_the_router_for_every_subgraph():
    for subgraph in registry.SUBGRAPHS.values():
        service = COMPOSE_SERVICE[subgraph.name]
        assert ("db" in depends(service)) == subgraph.owns_tables, service
        assert service in depends("router")
        assert service in depends("api-gateway")
    assert "router" in depends("api-gateway")


def test_only_the_edge_publishes_a_port_and_the_database_is_unreachable_from_outside():
    published = {name for name, service in SERVICES.items() if service.get("ports")}

    assert published == {"api-gateway"}
    assert SERVICES["api-gateway"]["ports"] == ["${EDGE_PORT:-80}:80"]
    assert COMPOSE["networks"]["data"]["internal"] is True
    assert SERVICES["db"]["networks"] == ["data"]
    for name, service in SERVICES.items():
        if name != "db" and "data" in service.get("networks", []):
            assert SUBGRAPH_OF.get(name) and registry.SUBGRAPHS[SUBGRAPH_OF[name]].owns_tables, name


def test_containers_are_locked_down():
    for name in [*COMPOSE_SERVICE.values(), "router", "api-gateway"]:
        service = SERVICES[name]
        assert service.get("read_only") is True, name
    for name in [*COMPOSE_SERVICE.values(), "router"]:
        assert SERVICES[name]["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in SERVICES[name]["security_opt"], name


def test_images_are_pinned():
    for name, service in SERVICES.items():
        image = service["image"]
        if image.startswith("${HEALTHCARE_IMAGE"):
            assert "build" in service, name
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"v?\d+(\.\d+){1,2}(-[a-z0-9]+)?", tag), (name, image)


def test_the_router_is_the_apollo_router_2_with_the_project_files():
    router = SERVICES["router"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in router["volumes"]}

    assert re.fullmatch(r"ghcr\.io/apollographql/router:v2\.\d+\.\d+", router["image"])
    assert mounts == {
        "/dist/config/router.yaml": "./router/router.yaml",
        "/dist/schema/supergraph.graphql": "./schema/supergraph.graphql",
    }
    assert router["command"] == [
        "--config",
        "/dist/config/router.yaml",
        "--supergraph",
        "/dist/schema/supergraph.graphql",
    ]
    for source in mounts.values():
        assert (ROOT / source).is_file(), source


def test_mounted_project_files_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
    init = ROOT / "deploy" / "postgres" / "init-databases.sh"
    assert (
        f"./{init.relative_to(ROOT)}:/docker-entrypoint-initdb.d/10-init-databases.sh:ro" in SERVICES["db"]["volumes"]
    )


def test_the_edge_config_points_at_these_services_and_ports():
    upstreams = edge_upstreams(EDGE_CONF.read_text())
    mounted = [
        volume for volume in SERVICES["api-gateway"]["volumes"] if volume.startswith("./deploy/nginx/edge.conf:")
    ]

    assert mounted == ["./deploy/nginx/edge.conf:/etc/nginx/conf.d/default.conf:ro"]
    for name, subgraph in registry.SUBGRAPHS.items():
        assert upstreams[name] == f"http://{COMPOSE_SERVICE[name]}:{subgraph.port}"
    assert upstreams["router"] == "http://router:4000"
    assert SERVICES["router"]["environment"]["ROUTER_LISTEN"] == "0.0.0.0:4000"


# --- environment and secrets -----------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def example_env() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def strings(node) -> list[str]:
    """Every string value of a loaded YAML document (comments are gone, keys are not values)."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_variable_compose_reads_is_in_the_example_env_file_and_nothing_else():
    matches = [match for text in strings(COMPOSE) for match in INTERPOLATION.finditer(text)]
    used = {match["name"] for match in matches}
    required = {match["name"] for match in matches if match["op"] == ":?"}

    assert used == set(example_env())
    assert {"ROUTER_SECRET", "SECRET_KEY", "JWT_PRIVATE_KEYS", "POSTGRES_PASSWORD"} <= required


def test_the_example_holds_no_secret_and_the_real_env_file_is_ignored_by_git():
    for name, value in example_env().items():
        if any(word in name for word in ("PASSWORD", "SECRET", "KEYS")):
            assert "change-me" in value, name
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run([git, "check-ignore", "--quiet", ".env"], cwd=ROOT, timeout=30, check=False)
    example = subprocess.run(
        [git, "check-ignore", "--quiet", "deploy/compose.env.example"], cwd=ROOT, timeout=30, check=False
    )
    assert ignored.returncode == 0, ".env must be git-ignored"
    assert example.returncode == 1, "the example must be committed"


def variables_in(value) -> set[str]:
    return {match["name"] for match in INTERPOLATION.finditer(str(value))}


def test_each_secret_reaches_only_the_containers_that_need_it():
    def holders(variable: str) -> set[str]:
        return {
            name
            for name, service in SERVICES.items()
            if any(variable in variables_in(value) for value in service.get("environment", {}).values())
        }

    assert holders("JWT_PRIVATE_KEYS") == {"auth-service"}
    assert holders("POSTGRES_PASSWORD") == {"db"}
    assert holders("AUTH_DB_PASSWORD") == {"db", "auth-service"}
    assert holders("APPOINTMENTS_DB_PASSWORD") == {"db", "appointment-service"}
    assert holders("PRESCRIPTIONS_DB_PASSWORD") == {"db", "prescription-service"}
    assert holders("ROUTER_SECRET") == {"router", *COMPOSE_SERVICE.values()}
    assert "env_file" not in str(SERVICES)  # no container receives the whole .env


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        if match["name"] in env:
            return env[match["name"]]
        if match["op"] in (":-", "-"):
            return match["arg"]
        raise AssertionError(f"{match['name']} is required: {match['arg']}")

    return INTERPOLATION.sub(one, value)


def production_env(service: str) -> dict[str, str]:
    """The environment compose gives `service`, with an .env of freshly generated values."""
    env = {name: secrets.token_urlsafe(40) for name in example_env()}
    env.update(
        CORS_ORIGINS="[]", LOG_LEVEL="INFO", ROUTER_CORS_ORIGIN="https://app.example.org", JWT_PRIVATE_KEYS=pem()
    )
    return {name: interpolate(str(value), env) for name, value in SERVICES[service]["environment"].items()}


def pem() -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    from subgraphs.auth.tokens.keys import private_pem

    return private_pem(ec.generate_private_key(ec.SECP256R1())).decode()


def settings_names(settings_class) -> set[str]:
    names = set()
    for field in settings_class.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif alias:
            names.add(str(alias))
    return names


@pytest.mark.parametrize("subgraph", list(registry.SUBGRAPHS))
def test_each_service_reads_every_variable_it_is_given(subgraph):
    """A misspelt variable would be ignored silently (the settings ignore unknown names)."""
    env = production_env(COMPOSE_SERVICE[subgraph])
    import importlib

    module = importlib.import_module(f"subgraphs.{subgraph}.config")
    known = settings_names(getattr(module, registry.SUBGRAPHS[subgraph].settings_class)) | {"SERVICE"}

    assert set(env) <= known, set(env) - known


@pytest.mark.parametrize("subgraph", list(registry.SUBGRAPHS))
def test_each_service_gets_a_production_configuration_it_accepts(subgraph, monkeypatch):
    env = production_env(COMPOSE_SERVICE[subgraph])
    for name in [*env, "DATABASE_URL", f"{subgraph.upper()}_DATABASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    settings = registry.SUBGRAPHS[subgraph].settings()

    assert settings.is_production
    refuse_development_secrets(settings)  # raises on a missing or development secret
    assert settings.auth_service_url == "http://auth-service:8001"
    if registry.SUBGRAPHS[subgraph].owns_tables:
        url = settings.database_url
        assert url.startswith(f"postgresql://{subgraph}:") and url.endswith(f"@db:5432/{subgraph}")
        assert async_url(url).startswith("postgresql+asyncpg://") and sync_url(url).startswith("postgresql+psycopg2://")
    if subgraph == "auth":
        from subgraphs.auth.app import load_keys

        assert load_keys(settings).signing_kid


def test_the_documented_key_command_makes_a_key_auth_accepts(tmp_path):
    """compose.env.example's openssl line, then the \\n escapes compose expands in a double-quoted
    value: what auth receives as JWT_PRIVATE_KEYS."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl here")
    line = next(line for line in ENV_EXAMPLE.read_text().splitlines() if "openssl genpkey" in line)
    command = line.lstrip("# ").strip()
    result = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    one_line = result.stdout.strip()
    assert "\n" not in one_line and one_line.startswith("-----BEGIN PRIVATE KEY-----\\n")

    from subgraphs.auth.tokens.keys import KeyRing

    ring = KeyRing.from_pem_text(one_line.replace("\\n", "\n"))
    assert len(ring.public_keys) == 1


def test_the_router_gets_every_variable_its_config_requires():
    config = "\n".join(strings(load_yaml(ROOT / "router" / "router.yaml")))
    required = set(re.findall(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}", config))
    optional = set(re.findall(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*):-", config))
    given = set(SERVICES["router"]["environment"])

    assert required <= given, required - given
    # What compose sets for the router, it reads (or it is one of the router's own variables).
    assert given - optional - required <= {"APOLLO_TELEMETRY_DISABLED", *routing_variables()}


def routing_variables() -> set[str]:
    return {f"{name.upper()}_ROUTING_URL" for name in registry.SUBGRAPHS}


def test_the_router_reaches_each_subgraph_by_its_compose_name():
    config = load_yaml(ROOT / "router" / "router.yaml")
    overrides = config.get("override_subgraph_url") or {}
    environment = SERVICES["router"]["environment"]

    for name, subgraph in registry.SUBGRAPHS.items():
        variable = f"{name.upper()}_ROUTING_URL"
        assert overrides.get(name) == f"${{env.{variable}:-http://127.0.0.1:{subgraph.port}/graphql}}", name
        assert environment[variable] == f"http://{COMPOSE_SERVICE[name]}:{subgraph.port}/graphql"
