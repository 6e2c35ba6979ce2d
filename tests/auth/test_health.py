from __future__ import annotations

from subgraphs.auth.app import create_app

from ..conftest import running
from .conftest import AuthApi, auth_settings


async def test_health_and_ready(auth: AuthApi):
    health = await auth.client.get("/health")
    assert health.json() == {"status": "ok", "service": "auth"}
    ready = await auth.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
    assert ready.headers["x-content-type-options"] == "nosniff"
    assert ready.headers["x-request-id"]


async def test_request_id_is_echoed_when_safe(auth: AuthApi):
    response = await auth.client.get("/health", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    hostile = await auth.client.get("/health", headers={"x-request-id": "a\tb" + "x" * 300})
    assert hostile.headers["x-request-id"] != "a\tb" + "x" * 300


async def test_not_ready_when_the_database_is_unreachable(tmp_path):
    app = create_app(auth_settings("postgresql://nobody@127.0.0.1:9/nowhere", tmp_path))
    async for client in running(app):
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "failing"
        assert (await client.get("/health")).status_code == 200


async def test_not_ready_when_migrations_are_behind(tmp_path):
    app = create_app(auth_settings(f"sqlite:///{tmp_path}/empty.db", tmp_path))
    async for client in running(app):
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "migrations": "failing"}


async def test_unknown_routes_and_methods_are_problem_details(auth: AuthApi):
    missing = await auth.client.get("/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "NOT_FOUND"
    wrong_method = await auth.client.delete("/auth/register")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_openapi_points_authorize_at_the_token_endpoint(auth: AuthApi):
    spec = (await auth.client.get("/openapi.json")).json()
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/auth/token"
    assert "/graphql" not in spec["paths"]
    assert {"/auth/register", "/auth/login", "/auth/token", "/auth/validate-token", "/users/profile"} <= set(
        spec["paths"]
    )
