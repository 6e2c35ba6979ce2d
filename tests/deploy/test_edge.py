"""The nginx edge (deploy/nginx/edge.conf) run for real: Debian's nginx with the project's file, its
upstreams pointed at services started here, REST and GraphQL sent through it.

Skipped where nginx is not installed; a failure when CI=true (CI installs it: apt-get install -y nginx).
"""

from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from subgraphs.cli import registry

from .helpers import EDGE_CONF, EchoUpstream, Edge, closed_port_url, edge_upstreams, nginx_binary

pytestmark = pytest.mark.e2e

TIMEOUT = 30.0
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def service_url(stack, name: str) -> str:
    return f"http://127.0.0.1:{stack.subgraph_ports[name]}"


def stack_upstreams(stack, **overrides: str) -> dict[str, str]:
    upstreams = {name: service_url(stack, name) for name in ("auth", "appointments", "prescriptions", "admin")}
    upstreams["router"] = stack.router_url or closed_port_url()
    upstreams.update(overrides)
    return upstreams


@pytest.fixture(scope="module")
def edge(local_stack) -> Iterator[Edge]:
    nginx_binary()
    running = Edge(stack_upstreams(local_stack)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def user(edge) -> dict:
    """A patient registered and signed in through the edge."""
    email = f"edge-{uuid.uuid4().hex[:10]}@example.org"
    password = "correct horse battery staple"
    registered = httpx.post(
        f"{edge.url}/auth/register",
        json={"email": email, "password": password, "full_name": "Edge Patient"},
        timeout=TIMEOUT,
    )
    assert registered.status_code == 201, registered.text
    login = httpx.post(f"{edge.url}/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT)
    assert login.status_code == 200, login.text
    return {"id": registered.json()["id"], "email": email, "token": login.json()["access_token"]}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_list(name) == [value], (name, response.headers.get_list(name))
    assert response.headers.get("server") == "nginx", response.headers.get("server")  # no version


def served_by(stack, service: str, request_id: str, since: int) -> list[dict]:
    """The access-log lines `service` wrote for `request_id` since `since`."""
    entries = []
    for line in stack.processes[service].lines_since(since):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == "access" and entry.get("request_id") == request_id:
            entries.append(entry)
    return entries


def wait_for_access_log(stack, service: str, request_id: str, since: int, timeout: float = 5.0) -> list[dict]:
    """The service writes its access line after the response, and its output is read by a
    thread: wait a moment for it."""
    deadline = time.monotonic() + timeout
    while True:
        entries = served_by(stack, service, request_id, since)
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def flush_logs(stack, marks: dict[str, int]) -> None:
    """Have each service log one more request and wait for it: whatever it logged before is then
    in `lines`, so the absence of a line means something."""
    for name in marks:
        marker = f"flush-{uuid.uuid4().hex}"
        httpx.get(f"{service_url(stack, name)}/ready", headers={"x-request-id": marker}, timeout=TIMEOUT)
        assert wait_for_access_log(stack, name, marker, marks[name]), name


# --- REST: each seed path reaches its own service ----------------------------------------------

ROUTES = [
    # path, the service that must answer it, status for a signed-in patient
    ("/users/profile", "auth", 200),
    ("/.well-known/jwks.json", "auth", 200),
    ("/appointments", "appointments", 200),
    ("/doctors", "appointments", 200),
    ("/prescriptions", "prescriptions", 200),
    ("/admin/analytics", "admin", 403),
    ("/admin/users", "admin", 403),
]


@pytest.mark.parametrize(("path", "service", "status"), ROUTES)
def test_rest_paths_reach_their_service(edge, user, local_stack, path, service, status):
    request_id = f"edge-{uuid.uuid4().hex}"
    marks = {name: local_stack.processes[name].mark() for name in registry.SUBGRAPHS}

    response = httpx.get(
        f"{edge.url}{path}",
        headers={"authorization": f"Bearer {user['token']}", "x-request-id": request_id},
        timeout=TIMEOUT,
    )

    assert response.status_code == status, response.text
    assert_security_headers(response)
    assert response.headers["x-request-id"] == request_id
    # The intended service logged this path for this request; no other service was sent it (a
    # service may call auth for the same request id, on auth's own paths).
    entries = wait_for_access_log(local_stack, service, request_id, marks[service])
    assert [entry["path"] for entry in entries] == [path], entries
    for name, mark in marks.items():
        if name != service:
            assert path not in [entry["path"] for entry in served_by(local_stack, name, request_id, mark)], name


def test_profile_through_the_edge_is_the_signed_in_user(edge, user):
    response = httpx.get(
        f"{edge.url}/users/profile", headers={"authorization": f"Bearer {user['token']}"}, timeout=TIMEOUT
    )

    assert response.status_code == 200
    assert response.json()["email"] == user["email"]
    assert response.headers["cache-control"] == "no-store"


def test_put_and_query_strings_pass_unchanged(edge, user):
    updated = httpx.put(
        f"{edge.url}/users/profile",
        json={"phone": "+44 20 7946 0000"},
        headers={"authorization": f"Bearer {user['token']}"},
        timeout=TIMEOUT,
    )
    doctors = httpx.get(
        f"{edge.url}/doctors",
        params={"limit": 1, "offset": 3},
        headers={"authorization": f"Bearer {user['token']}"},
        timeout=TIMEOUT,
    )

    assert updated.status_code == 200, updated.text
    assert updated.json()["phone"] == "+44 20 7946 0000"
    assert doctors.status_code == 200, doctors.text
    assert (doctors.json()["limit"], doctors.json()["offset"]) == (1, 3)


# --- GraphQL: /graphql goes to the router -----------------------------------------------------


def test_graphql_goes_through_the_router(edge, user, local_stack):
    if local_stack.router_problem:
        pytest.skip(f"no router to send /graphql to: {local_stack.router_problem}")
    request_id = f"edge-gql-{uuid.uuid4().hex}"
    auth_mark = local_stack.processes["auth"].mark()

    response = httpx.post(
        f"{edge.url}/graphql",
        json={"query": "{ me { id email } }"},
        headers={
            "authorization": f"Bearer {user['token']}",
            "x-request-id": request_id,
            # A client cannot smuggle the subgraphs' secret (the router adds its own).
            "x-router-secret": "a-guess",
        },
        timeout=TIMEOUT,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"id": user["id"], "email": user["email"]}}}
    assert_security_headers(response)
    # auth answered one /graphql request for this client request: the router's, which carried
    # the router's secret (a request without it is refused with 401 before any logging of data).
    fetches = [e for e in wait_for_access_log(local_stack, "auth", request_id, auth_mark) if e["path"] == "/graphql"]
    assert [e["status"] for e in fetches] == [200], local_stack.logs()


def test_graphql_without_a_token_is_unauthenticated_by_the_subgraph(edge, local_stack):
    if local_stack.router_problem:
        pytest.skip(f"no router to send /graphql to: {local_stack.router_problem}")

    response = httpx.post(f"{edge.url}/graphql", json={"query": "{ me { id } }"}, timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- what is not published ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/ready",
        "/metrics",
        "/docs",
        "/openapi.json",
        "/internal/care-relationships",
        "/audit",
        "/",
        "/graphqlx",
        "/authx/login",
        "/adminx",
    ],
)
def test_other_paths_are_not_published(edge, path):
    response = httpx.get(f"{edge.url}{path}", timeout=TIMEOUT)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"
    assert_security_headers(response)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/auth/../internal/care-relationships",
        "/appointments/..%2F..%2Finternal/care-relationships",
        "/appointments/%2e%2e/internal/care-relationships",
        "/users/../health",
    ],
)
def test_dot_segments_cannot_reach_an_unpublished_path(edge, local_stack, raw_path):
    """Sent as written (httpx would resolve the dots first): nginx normalises the path before
    choosing a route, so these land on the 404 route, never on a service."""
    marks = {name: local_stack.processes[name].mark() for name in registry.SUBGRAPHS}
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=TIMEOUT)
    try:
        connection.request("POST", raw_path, body=b"{}", headers={"content-type": "application/json"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status in (400, 404), body
    flush_logs(local_stack, marks)
    for name, mark in marks.items():
        logged = [
            line for line in local_stack.processes[name].lines_since(mark) if "internal" in line or '"/health"' in line
        ]
        assert not logged, (name, logged)


# --- limits -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_at_the_edge(edge, local_stack):
    mark = local_stack.processes["auth"].mark()

    response = httpx.post(
        f"{edge.url}/auth/register",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert_security_headers(response)
    flush_logs(local_stack, {"auth": mark})
    assert not [line for line in local_stack.processes["auth"].lines_since(mark) if "/auth/register" in line]


def test_edge_config_sets_the_limits_and_timeouts():
    """The values themselves (the behaviour is tested above and below)."""
    text = EDGE_CONF.read_text()

    def value(directive: str) -> str:
        found = re.findall(rf"^\s*{directive}\s+([^;]+);", text, re.MULTILINE)
        assert len(found) == 1, (directive, found)
        return found[0].strip()

    def seconds(directive: str) -> int:
        raw = value(directive)
        assert raw.endswith("s"), raw
        return int(raw[:-1])

    assert value("client_max_body_size") == "1m"
    assert value("server_tokens") == "off"
    # The router gives up on a request after 30 s (router/router.yaml traffic_shaping): the edge
    # waits a little longer so the router's answer, not a 504, reaches the client.
    assert 30 < seconds("proxy_read_timeout") <= 60
    assert seconds("proxy_connect_timeout") <= 5
    assert seconds("client_body_timeout") <= 30
    assert seconds("client_header_timeout") <= 30
    assert seconds("send_timeout") <= 60
    # No `add_header` inside a location: one there would drop every header set for the server.
    blocks = location_blocks(text)
    assert len(blocks) >= 15
    for block in blocks:
        assert "add_header" not in block, block


def location_blocks(text: str) -> list[str]:
    """The bodies of every `location ... { }` block, nested braces included."""
    directives = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    blocks = []
    for match in re.finditer(r"\blocation\b[^{;]*\{", directives):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(directives[index], 0)
            index += 1
        blocks.append(directives[match.end() : index - 1])
    return blocks


def test_a_dead_upstream_is_a_problem_document(local_stack):
    edge = Edge(stack_upstreams(local_stack, admin=closed_port_url())).start()
    try:
        response = httpx.get(f"{edge.url}/admin/analytics", timeout=TIMEOUT)
        healthy = httpx.get(f"{edge.url}/.well-known/jwks.json", timeout=TIMEOUT)
    finally:
        edge.stop()

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert "127.0.0.1" not in response.text  # no internal address in the answer
    assert_security_headers(response)
    assert healthy.status_code == 200


def test_a_slow_upstream_times_out_into_a_problem_document(local_stack):
    """The timeout path, with proxy_read_timeout shortened to 1 s (the echo upstream's /slow takes 3 s)."""
    with EchoUpstream() as echo:
        edge = Edge(
            stack_upstreams(local_stack, prescriptions=echo.url),
            replace={"proxy_read_timeout 35s;": "proxy_read_timeout 1s;"},
        ).start()
        try:
            slow = httpx.get(f"{edge.url}/prescriptions/slow", timeout=TIMEOUT)
        finally:
            edge.stop()

    assert slow.status_code == 503
    assert slow.json()["code"] == "SERVICE_UNAVAILABLE"


# --- what the upstreams receive ---------------------------------------------------------------


@pytest.fixture(scope="module")
def echo_edge(local_stack) -> Iterator[tuple[Edge, EchoUpstream]]:
    """An edge whose auth upstream is an echo server, to see exactly what nginx forwards."""
    nginx_binary()
    with EchoUpstream() as echo:
        edge = Edge(stack_upstreams(local_stack, auth=echo.url)).start()
        try:
            yield edge, echo
        finally:
            edge.stop()


def test_forwarded_headers_are_set_by_the_edge_not_the_client(echo_edge):
    edge, _echo = echo_edge

    response = httpx.get(
        f"{edge.url}/users/profile",
        headers={
            "x-forwarded-for": "203.0.113.7",  # a client's claim about its address
            "x-real-ip": "203.0.113.7",
            "x-router-secret": "stolen-or-guessed",
            "x-request-id": "trace-abc.123",
            "authorization": "Bearer some-token",
        },
        timeout=TIMEOUT,
    )

    received = response.json()["headers"]
    assert received["x-forwarded-for"] == "127.0.0.1"
    assert received["x-real-ip"] == "127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert "x-router-secret" not in received
    assert received["x-request-id"] == "trace-abc.123"
    assert received["authorization"] == "Bearer some-token"
    assert received["host"] == "127.0.0.1"
    # The upstream's own copies of the security headers are replaced, not doubled.
    assert_security_headers(response)


def test_an_unsafe_request_id_is_replaced(echo_edge):
    edge, _echo = echo_edge

    response = httpx.get(f"{edge.url}/users/profile", headers={"x-request-id": 'x"}; evil'}, timeout=TIMEOUT)

    assert re.fullmatch(r"[0-9a-f]{32}", response.json()["headers"]["x-request-id"])


def test_a_body_under_the_limit_reaches_the_upstream_whole(echo_edge):
    """Bodies over the 64 KiB buffer go through nginx's temporary files: they must still arrive."""
    edge, _echo = echo_edge
    body = b"x" * (900 * 1024)

    response = httpx.post(f"{edge.url}/auth/register", content=body, timeout=TIMEOUT)

    assert response.status_code == 200, edge.error_log()
    assert response.json()["body_length"] == len(body)


def test_the_access_log_is_json_without_query_strings(echo_edge):
    edge, _echo = echo_edge
    request_id = f"log-{uuid.uuid4().hex}"

    httpx.get(
        f"{edge.url}/users/profile",
        params={"email": "ada@example.org"},
        headers={"x-request-id": request_id},
        timeout=TIMEOUT,
    )

    entries = edge.access_log(request_id)
    assert len(entries) == 1
    assert entries[0]["path"] == "/users/profile"
    assert entries[0]["status"] == 200
    assert "ada@example.org" not in json.dumps(entries[0])


def test_sign_in_routes_are_rate_limited_per_address(local_stack):
    """30 requests a minute with a burst of 30 on /auth/login, /auth/token, /auth/register; then
    429 from the edge itself. Other routes keep working for the same address."""
    with EchoUpstream() as echo:
        edge = Edge(stack_upstreams(local_stack, auth=echo.url)).start()
        try:
            with httpx.Client(base_url=edge.url, timeout=TIMEOUT) as client:
                statuses = [client.post("/auth/login", json={}).status_code for _ in range(45)]
                limited = client.post("/auth/token", data={"grant_type": "password"})
                other = client.get("/users/profile")
        finally:
            edge.stop()

    allowed = statuses.count(200)
    assert 31 <= allowed <= 33, statuses  # the first + a burst of 30 (+ what refilled meanwhile)
    assert statuses.count(429) == len(statuses) - allowed
    assert statuses[:31] == [200] * 31
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "TOO_MANY_REQUESTS"
    assert_security_headers(limited)
    assert other.status_code == 200


# --- the config file itself ---------------------------------------------------------------------


def test_a_broken_edge_config_is_refused_by_nginx(local_stack):
    """The same nginx check the edge fixture passes refuses a config with a directive repeated at
    http level (what mounting it into the official image would do)."""
    broken = Edge(stack_upstreams(local_stack))
    try:
        conf = broken.prefix / "edge.conf"
        conf.write_text("keepalive_timeout 10s;\n" + conf.read_text())
        result = broken.check()
    finally:
        broken.stop()

    assert result.returncode != 0
    assert '"keepalive_timeout" directive is duplicate' in result.stderr


def test_edge_config_names_every_upstream_once():
    upstreams = edge_upstreams(EDGE_CONF.read_text())

    assert upstreams == {
        "router": "http://router:4000",
        "auth": "http://auth-service:8001",
        "appointments": "http://appointment-service:8002",
        "prescriptions": "http://prescription-service:8003",
        "admin": "http://admin-service:8004",
    }


def test_without_nginx_the_edge_tests_skip_here_and_fail_in_ci(monkeypatch):
    from . import helpers

    monkeypatch.setattr(helpers.shutil, "which", lambda _name: None)
    monkeypatch.setattr(helpers.os, "access", lambda _path, _mode: False)

    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y nginx"):
        nginx_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y nginx"):
        nginx_binary()
