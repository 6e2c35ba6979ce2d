from __future__ import annotations

import httpx
import pytest

from subgraphs.admin.app import create_app
from subgraphs.admin.config import AdminSettings

from ..auth.conftest import AuthApi, make_auth_app  # noqa: F401 - fixture
from ..conftest import ROUTER_HEADERS, running


class AdminApi:
    def __init__(self, client: httpx.AsyncClient, auth: AuthApi) -> None:
        self.client = client
        self.auth = auth

    async def admin_token(self) -> str:
        email = self.auth.new_email("admin")
        await self.auth.app.state.users.create_admin(email, "admin passphrase", "Ada Admin")
        return (await self.auth.login(email, "admin passphrase"))["access_token"]

    async def gql(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {**ROUTER_HEADERS, **({"authorization": f"Bearer {token}"} if token else {})}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def admin(make_auth_app, tmp_path):  # noqa: F811 - the imported fixture
    """The admin service in process, talking to a real auth service in process."""
    auth_app = make_auth_app()
    async for auth_client in running(auth_app):
        transports = {"auth": httpx.ASGITransport(app=auth_app)}
        app = create_app(AdminSettings(data_dir=tmp_path), transports=transports)
        async for client in running(app):
            yield AdminApi(client, AuthApi(auth_client, auth_app))
