"""The router's own settings (router/gateway.config.ts): CORS, CSRF, health, metrics, and what
changes in production.

Hive Gateway only (the session stack's `router_url`): what is tested is gateway.config.ts itself."""

from __future__ import annotations

import httpx
import pytest

from .stack import HTTP_TIMEOUT, Stack

pytestmark = pytest.mark.e2e

ALLOWED_ORIGIN = "http://127.0.0.1:5173"  # the stack's CORS_ORIGINS
INTROSPECTION = "{ __schema { queryType { name } } }"


def exit_status(stack: Stack, process, timeout: float = 60.0) -> int:
    assert process.process is not None
    code = process.process.wait(timeout)
    process.stop()  # reaps the pump thread so every line is in `process.lines`
    return code


# --- health, readiness, metrics -------------------------------------------------------------


def test_health_readiness_and_metrics(stack: Stack):
    user = stack.register_and_login()
    stack.data("{ me { id } }", token=user["token"])

    health = httpx.get(f"{stack.router_url}/health", timeout=HTTP_TIMEOUT)
    ready = httpx.get(f"{stack.router_url}/ready", timeout=HTTP_TIMEOUT)
    metrics = httpx.get(f"{stack.router_url}/metrics", timeout=HTTP_TIMEOUT)

    assert health.status_code == 200
    assert ready.status_code == 200
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    executed = [line for line in metrics.text.splitlines() if line.startswith("graphql_envelop_phase_execute_count")]
    assert executed, metrics.text[:3000]
    assert float(executed[0].rsplit(" ", 1)[1]) >= 1
    # The per-fetch latency histograms are off on purpose (router/gateway.config.ts).
    assert "graphql_gateway_fetch_duration" not in metrics.text
    assert "graphql_gateway_subgraph_execute_duration" not in metrics.text


# --- browsers: CORS and CSRF ----------------------------------------------------------------


def test_cors_admits_the_configured_origin_with_credentials(stack: Stack):
    preflight = httpx.options(
        f"{stack.router_url}/graphql",
        headers={
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,authorization",
        },
        timeout=HTTP_TIMEOUT,
    )

    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_cors_refuses_other_origins(stack: Stack):
    for origin in ("http://127.0.0.1:6666", "null"):
        response = stack.graphql("{ __typename }", headers={"origin": origin})
        # The answer names the allowed origin (or none): a browser on `origin` may not read it.
        allowed = response.headers.get("access-control-allow-origin")
        assert allowed in (None, ALLOWED_ORIGIN), allowed


def test_csrf_a_simple_request_without_a_preflight_header_is_refused(stack: Stack):
    url = f"{stack.router_url}/graphql"

    simple_get = httpx.get(url, params={"query": "{ __typename }"}, timeout=HTTP_TIMEOUT)
    form_post = httpx.post(
        url, content='{"query": "{ __typename }"}', headers={"content-type": "text/plain"}, timeout=HTTP_TIMEOUT
    )
    marked_get = httpx.get(
        url, params={"query": "{ __typename }"}, headers={"apollo-require-preflight": "true"}, timeout=HTTP_TIMEOUT
    )

    assert simple_get.status_code == 403
    assert form_post.status_code == 403
    assert marked_get.status_code == 200
    assert marked_get.json() == {"data": {"__typename": "Query"}}


# --- the client address ---------------------------------------------------------------------


def test_behind_a_trusted_proxy_the_client_address_is_the_last_untrusted_hop(stack: Stack):
    _router, url = stack.start_router(TRUSTED_PROXIES="127.0.0.1, 10.0.0.2")

    def forwarded_for(header: str) -> str:
        headers = stack.data("{ echoHeaders { name value } }", headers={"x-forwarded-for": header}, url=url)
        return {h["name"]: h["value"] for h in headers["echoHeaders"]}["x-forwarded-for"]

    # The proxy (this test, at 127.0.0.1) says who called it; hops it added are trusted too.
    assert forwarded_for("203.0.113.9") == "203.0.113.9"
    assert forwarded_for("198.51.100.1, 203.0.113.9, 10.0.0.2") == "203.0.113.9"
    # Only trusted hops: the proxy itself is the client.
    assert forwarded_for("10.0.0.2") == "127.0.0.1"


# --- development and production -------------------------------------------------------------


def test_development_serves_the_explorer_and_introspection(stack: Stack):
    page = httpx.get(f"{stack.router_url}/graphql", headers={"accept": "text/html"}, timeout=HTTP_TIMEOUT)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Healthcare supergraph</title>" in page.text
    assert stack.data(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}


def test_production_turns_off_the_explorer_introspection_and_suggestions(stack: Stack):
    _router, url = stack.start_router(HEALTHCARE_ENV="production")

    page = httpx.get(f"{url}/graphql", headers={"accept": "text/html"}, timeout=HTTP_TIMEOUT)
    introspection = stack.graphql(INTROSPECTION, url=url).json()
    typo = stack.graphql("{ mee { id } }", url=url).json()
    plain = stack.graphql("{ __typename }", url=url).json()

    assert 400 <= page.status_code < 500
    assert not page.headers.get("content-type", "").startswith("text/html")
    assert "Healthcare supergraph" not in page.text
    assert introspection.get("data") is None
    assert {error["extensions"]["code"] for error in introspection["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert "introspection has been disabled" in introspection["errors"][0]["message"]
    assert typo["errors"] and "Did you mean" not in str(typo)
    assert plain == {"data": {"__typename": "Query"}}
    # ... while the development router of the stack still helps with typos.
    assert "Did you mean" in str(stack.graphql("{ mee { id } }").json())


def test_production_refuses_to_start_with_the_development_secret(stack: Stack):
    router, _url = stack.start_router(wait=False, HEALTHCARE_ENV="production", ROUTER_SECRET=None)

    assert exit_status(stack, router) != 0
    assert any("ROUTER_SECRET must be set" in line for line in router.lines), router.tail()


def test_a_subgraph_timeout_longer_than_the_request_deadline_is_refused(stack: Stack):
    router, _url = stack.start_router(wait=False, SUBGRAPH_TIMEOUT_MS="30000", REQUEST_DEADLINE_MS="20000")

    assert exit_status(stack, router) != 0
    assert any("SUBGRAPH_TIMEOUT_MS must be shorter" in line for line in router.lines), router.tail()
