from __future__ import annotations

import pytest

from .conftest import AuthApi

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken tokenType expiresIn } }"
VOLATILE_HEADERS = {"x-request-id", "date"}


async def test_login_returns_a_bearer_pair_not_cached(auth: AuthApi):
    user = await auth.register()
    response = await auth.client.post(
        "/auth/login", json={"email": user["email"].upper(), "password": user["password"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    assert body["access_token"].count(".") == 2 and body["refresh_token"]
    assert response.headers["cache-control"] == "no-store"


async def test_unknown_email_and_wrong_password_are_indistinguishable(auth: AuthApi):
    user = await auth.register()
    wrong_password = await auth.client.post(
        "/auth/login", json={"email": user["email"], "password": "not the password"}
    )
    unknown_email = await auth.client.post(
        "/auth/login", json={"email": "nobody@example.org", "password": "not the password"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.content == unknown_email.content
    assert wrong_password.json()["code"] == "INVALID_CREDENTIALS"

    def stable(response):
        return {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}

    assert stable(wrong_password) == stable(unknown_email)


async def test_graphql_login_errors_match_for_unknown_and_wrong(auth: AuthApi):
    user = await auth.register()
    wrong = await auth.gql(LOGIN, {"e": user["email"], "p": "not the password"})
    unknown = await auth.gql(LOGIN, {"e": "nobody@example.org", "p": "not the password"})
    assert wrong == unknown
    assert wrong["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"

    ok = await auth.gql(LOGIN, {"e": user["email"], "p": user["password"]})
    assert ok["data"]["login"]["tokenType"] == "bearer"


async def test_repeated_failures_lock_the_account_with_retry_after(make_auth_app):
    from ..conftest import running

    app = make_auth_app(login_max_failures_per_account=3, login_max_failures_per_address=100)
    async for client in running(app):
        api = AuthApi(client, app)
        user = await api.register()
        for _ in range(3):
            response = await client.post("/auth/login", json={"email": user["email"], "password": "wrong password"})
            assert response.status_code == 401
        locked = await client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
        assert locked.status_code == 429
        assert locked.json()["code"] == "TOO_MANY_REQUESTS"
        assert 0 < int(locked.headers["retry-after"]) <= 900
        # The lock is per account: another account from the same address still signs in.
        other = await api.register()
        assert (
            await client.post("/auth/login", json={"email": other["email"], "password": other["password"]})
        ).status_code == 200


async def test_unknown_accounts_are_throttled_like_real_ones(make_auth_app):
    from ..conftest import running

    app = make_auth_app(login_max_failures_per_account=2, login_max_failures_per_address=100)
    async for client in running(app):
        for _ in range(2):
            await client.post("/auth/login", json={"email": "ghost@example.org", "password": "whatever pw"})
        response = await client.post("/auth/login", json={"email": "ghost@example.org", "password": "whatever pw"})
        assert response.status_code == 429


async def test_repeated_failures_from_one_address_are_throttled(make_auth_app):
    from ..conftest import running

    app = make_auth_app(login_max_failures_per_account=100, login_max_failures_per_address=4)
    async for client in running(app):
        api = AuthApi(client, app)
        victim = await api.register()
        for n in range(4):
            await client.post("/auth/login", json={"email": f"spray{n}@example.org", "password": "guess guess"})
        response = await client.post("/auth/login", json={"email": victim["email"], "password": victim["password"]})
        assert response.status_code == 429
        assert "retry-after" in response.headers


async def test_graphql_aliased_logins_each_count(make_auth_app):
    """Aliases cannot multiply guesses: aliased logins run in order, each one counted, so the
    account's limit stops them inside one operation as it would across operations."""
    from ..conftest import running

    app = make_auth_app(login_max_failures_per_account=3, login_max_failures_per_address=100)
    async for client in running(app):
        api = AuthApi(client, app)
        user = await api.register()
        aliases = " ".join(
            f'a{n}: login(email: "{user["email"]}", password: "wrong password {n}") {{ accessToken }}' for n in range(5)
        )
        result = await api.gql(f"mutation {{ {aliases} }}")
        assert result["data"] == {f"a{n}": None for n in range(5)}
        # Each alias is an attempt: the first three fail, then the account is locked.
        codes = [e["extensions"]["code"] for e in result["errors"]]
        assert codes == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_REQUESTS"] * 2
        locked = await api.gql(LOGIN, {"e": user["email"], "p": user["password"]})
        assert locked["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
        assert locked["errors"][0]["extensions"]["retryAfter"] > 0


@pytest.mark.parametrize("body", [{}, {"email": "a@b.co"}, {"email": "a@b.co", "password": "x", "extra": 1}])
async def test_malformed_login_is_422(auth: AuthApi, body):
    response = await auth.client.post("/auth/login", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
