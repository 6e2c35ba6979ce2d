from __future__ import annotations

import itertools

import httpx
import pytest

from subgraphs.auth.app import MIGRATIONS, create_app
from subgraphs.auth.config import AuthSettings

from ..conftest import ROUTER_HEADERS, SqlCounter, running

_emails = itertools.count(1)


def auth_settings(database_url: str, data_dir, **overrides) -> AuthSettings:
    values = {
        "database_url": database_url,
        "data_dir": data_dir,
        # Cheap hashing keeps the suite fast; production cost is in AuthSettings.
        "password_time_cost": 1,
        "password_memory_kib": 1024,
        # Tests register many users from one address; the limit itself is tested with small values.
        "registration_max_per_address": 10_000,
        **overrides,
    }
    return AuthSettings(**values)


class AuthApi:
    """A test client speaking the auth service's REST routes and its subgraph endpoint."""

    def __init__(self, client: httpx.AsyncClient, app, router_headers: dict | None = None) -> None:
        self.client = client
        self.app = app
        self.router_headers = router_headers or ROUTER_HEADERS

    @staticmethod
    def new_email(prefix: str = "user") -> str:
        return f"{prefix}{next(_emails)}@example.org"

    async def register(self, role: str = "patient", **fields) -> dict:
        body = {
            "email": self.new_email(role),
            "password": "correct horse battery",
            "full_name": f"Test {role.title()}",
            "role": role,
            **fields,
        }
        response = await self.client.post("/auth/register", json=body)
        assert response.status_code == 201, response.text
        return {**response.json(), "password": body["password"]}

    async def login(self, email: str, password: str = "correct horse battery") -> dict:
        response = await self.client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    async def user_with_token(self, role: str = "patient", **fields) -> tuple[dict, str]:
        user = await self.register(role, **fields)
        return user, (await self.login(user["email"]))["access_token"]

    async def gql(self, query: str, variables: dict | None = None, token: str | None = None, headers=None) -> dict:
        all_headers = {**self.router_headers, **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def bearer(self, token: str) -> dict:
        return {"authorization": f"Bearer {token}"}


PRODUCTION_SECRET = "p" * 40


def production_overrides() -> dict:
    """What production mode insists on: real secrets and configured signing keys."""
    from subgraphs.auth.tokens.keys import private_pem

    from ..tokens import new_keys

    return {
        "environment": "production",
        "router_secret": PRODUCTION_SECRET,
        "secret_key": PRODUCTION_SECRET,
        "jwt_private_keys": private_pem(new_keys().signing_key).decode(),
    }


@pytest.fixture
def make_auth_app(database_for, tmp_path):
    url = database_for("auth", MIGRATIONS)

    def make(**overrides):
        return create_app(auth_settings(url, tmp_path / "data", **overrides))

    return make


@pytest.fixture
async def auth(make_auth_app):
    app = make_auth_app()
    async for client in running(app):
        yield AuthApi(client, app)


@pytest.fixture
def sql(auth) -> SqlCounter:
    return SqlCounter(auth.app.state.db.engine)
