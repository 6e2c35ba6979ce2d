from __future__ import annotations

import pytest

from .conftest import AuthApi

REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { id email fullName role isActive } }
"""


async def count_users(auth: AuthApi) -> int:
    from sqlalchemy import func, select

    from subgraphs.auth.users.models import User

    async with auth.app.state.db.session() as session:
        return await session.scalar(select(func.count()).select_from(User))


async def test_register_returns_the_user_without_secrets(auth: AuthApi):
    response = await auth.client.post(
        "/auth/register",
        json={
            "email": "Ada@Example.org",
            "password": "a long passphrase",
            "full_name": "Ada Lovelace",
            "phone": "+44 20 7946 0000",
            "date_of_birth": "1990-12-10",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.org"
    assert body["role"] == "patient"
    assert body["date_of_birth"] == "1990-12-10"
    assert body["is_active"] is True
    assert "password" not in response.text and "argon2" not in response.text


async def test_register_same_email_in_other_case_is_409(auth: AuthApi):
    user = await auth.register()
    response = await auth.client.post(
        "/auth/register",
        json={"email": user["email"].upper(), "password": "another passphrase", "full_name": "Copy"},
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "EMAIL_TAKEN"
    assert await count_users(auth) == 1


@pytest.mark.parametrize(
    ("body", "bad_field"),
    [
        ({"password": "short"}, "password"),
        ({"role": "admin"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"full_name": "   "}, "full_name"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"is_active": False}, "is_active"),
        ({"phone": "call me maybe"}, "phone"),
    ],
)
async def test_register_refuses_bad_input_with_422_and_writes_nothing(auth: AuthApi, body, bad_field):
    valid = {"email": auth.new_email(), "password": "a long passphrase", "full_name": "Valid Name"}
    response = await auth.client.post("/auth/register", json={**valid, **body})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert any(bad_field in error["loc"] for error in problem["errors"])
    assert "a long passphrase" not in response.text  # rejected input is not echoed
    assert await count_users(auth) == 0


async def test_register_malformed_json_is_422(auth: AuthApi):
    response = await auth.client.post(
        "/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_register_oversized_body_is_413(auth: AuthApi):
    response = await auth.client.post(
        "/auth/register",
        content=b'{"full_name": "' + b"x" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_graphql_register_matches_rest(auth: AuthApi):
    result = await auth.gql(
        REGISTER, {"input": {"email": "Grace@Example.org", "password": "a long passphrase", "fullName": "Grace"}}
    )
    assert "errors" not in result
    assert result["data"]["register"]["email"] == "grace@example.org"
    assert result["data"]["register"]["role"] == "PATIENT"

    again = await auth.gql(
        REGISTER, {"input": {"email": "grace@example.org", "password": "a long passphrase", "fullName": "G"}}
    )
    assert again["errors"][0]["extensions"]["code"] == "EMAIL_TAKEN"
    assert await count_users(auth) == 1


@pytest.mark.parametrize(
    "override", [{"role": "ADMIN"}, {"password": "short"}, {"email": "nope"}], ids=["admin", "weak", "email"]
)
async def test_graphql_register_refuses_what_rest_refuses(auth: AuthApi, override):
    variables = {"input": {"email": auth.new_email(), "password": "a long passphrase", "fullName": "X", **override}}
    result = await auth.gql(REGISTER, variables)
    assert result["data"] == {"register": None}
    assert result["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert await count_users(auth) == 0
