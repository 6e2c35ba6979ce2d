"""Production mode refuses what is only fit for a laptop, and adds transport headers."""

from __future__ import annotations

import pytest

from ..conftest import running
from .conftest import AuthApi, production_overrides


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"router_secret": "dev-router-secret-change-me"}, "ROUTER_SECRET"),
        ({"router_secret": "short"}, "ROUTER_SECRET"),
        ({"secret_key": "dev-secret-key-change-me"}, "SECRET_KEY"),
        ({"jwt_private_keys": None}, "JWT_PRIVATE_KEYS"),
    ],
)
def test_production_refuses_to_start_with_development_secrets(make_auth_app, override, message):
    with pytest.raises(RuntimeError, match=message):
        make_auth_app(**{**production_overrides(), **override})


async def test_production_responses_carry_hsts_and_no_store(make_auth_app):
    app = make_auth_app(**production_overrides())
    async for client in running(app):
        api = AuthApi(client, app)
        _user, token = await api.user_with_token()
        profile = await client.get("/users/profile", headers=api.bearer(token))
        assert profile.headers["strict-transport-security"].startswith("max-age=")
        assert profile.headers["cache-control"] == "no-store"
        assert profile.headers["x-frame-options"] == "DENY"
        jwks = await client.get("/.well-known/jwks.json")
        assert jwks.headers["cache-control"] == "public, max-age=300"


async def test_development_has_no_hsts_but_still_no_store(auth: AuthApi):
    _user, token = await auth.user_with_token()
    profile = await auth.client.get("/users/profile", headers=auth.bearer(token))
    assert "strict-transport-security" not in profile.headers
    assert profile.headers["cache-control"] == "no-store"


def test_a_wildcard_cors_origin_is_refused_at_start(make_auth_app):
    """Credentials are allowed for the listed origins, so "*" would admit every site's pages."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="CORS_ORIGINS cannot hold"):
        make_auth_app(cors_origins=["https://app.example.org", "*"])


async def test_cors_answers_the_listed_origin_with_credentials_and_no_other(make_auth_app):
    app = make_auth_app(cors_origins=["https://app.example.org"])
    async for client in running(app):
        preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}
        allowed = await client.options("/auth/login", headers={"origin": "https://app.example.org", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
        assert allowed.headers["access-control-allow-credentials"] == "true"

        other = await client.options("/auth/login", headers={"origin": "https://evil.example", **preflight})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
