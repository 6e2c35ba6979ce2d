"""The auth subgraph as the router sees it: the secret, `_entities`, visibility, transactions."""

from __future__ import annotations

import uuid

import pytest

from subgraphs.cli.registry import SUBGRAPHS
from subgraphs.cli.schema import sdl

from ..conftest import SqlCounter
from .conftest import AuthApi

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id fullName email phone dateOfBirth role } }
}
"""


async def make_admin(auth: AuthApi) -> tuple[dict, str]:
    email = auth.new_email("admin")
    await auth.app.state.users.create_admin(email, "admin passphrase", "Ada Admin")
    token = (await auth.login(email, "admin passphrase"))["access_token"]
    return {"email": email}, token


def reps(ids) -> dict:
    return {"representations": [{"__typename": "User", "id": user_id} for user_id in ids]}


@pytest.mark.parametrize("headers", [{}, {"x-router-secret": "wrong"}, {"x-router-secret": ""}])
async def test_subgraph_endpoint_refuses_callers_without_the_router_secret(auth: AuthApi, headers):
    response = await auth.client.post("/graphql", json={"query": "{ _service { sdl } }"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    entities = await auth.client.post(
        "/graphql", json={"query": ENTITIES, "variables": reps([str(uuid.uuid4())])}, headers=headers
    )
    assert entities.status_code == 401


async def test_service_sdl_is_the_committed_schema(auth: AuthApi):
    result = await auth.gql("{ _service { sdl } }")
    served = result["data"]["_service"]["sdl"]
    with open("schema/auth.graphql") as committed:
        assert served.strip() == committed.read().strip() == sdl(SUBGRAPHS["auth"]).strip()


@pytest.mark.parametrize("count", [5, 50])
async def test_entities_for_many_users_cost_one_query(auth: AuthApi, count):
    _admin, token = await make_admin(auth)
    users = [await auth.register() for _ in range(count)]
    # The token's first use checks the account is active (once per ACCOUNT_RECHECK_SECONDS);
    # what is measured here is the lookup itself.
    await auth.gql("{ me { id } }", token=token)
    sql = SqlCounter(auth.app.state.db.engine)
    result = await auth.gql(ENTITIES, reps([u["id"] for u in users]), token=token)
    assert "errors" not in result
    assert [entity["id"] for entity in result["data"]["_entities"]] == [u["id"] for u in users]
    assert sql.count == 1, sql.statements


async def test_patient_cannot_see_another_patient_by_entities_or_user(auth: AuthApi):
    me, token = await auth.user_with_token()
    other = await auth.register(phone="+1 555 0199")
    result = await auth.gql(ENTITIES, reps([me["id"], other["id"]]), token=token)
    assert result["data"]["_entities"][0]["id"] == me["id"]
    assert result["data"]["_entities"][1] is None
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert result["errors"][0]["path"] == ["_entities", 1]
    assert other["email"] not in str(result)

    direct = await auth.gql("query($id: ID!) { user(id: $id) { id email } }", {"id": other["id"]}, token=token)
    assert direct["data"]["user"] is None
    assert direct["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_doctor_directory_entry_hides_private_fields(auth: AuthApi):
    doctor = await auth.register("doctor", phone="+1 555 0142", date_of_birth="1970-01-01")
    _patient, token = await auth.user_with_token()
    result = await auth.gql(ENTITIES, reps([doctor["id"]]), token=token)
    entry = result["data"]["_entities"][0]
    assert entry["fullName"] == doctor["full_name"] and entry["role"] == "DOCTOR"
    assert entry["phone"] is None and entry["dateOfBirth"] is None


async def test_doctor_without_care_relationship_sees_only_themselves(auth: AuthApi):
    doctor, token = await auth.user_with_token("doctor")
    patient = await auth.register()
    result = await auth.gql(ENTITIES, reps([doctor["id"], patient["id"]]), token=token)
    assert result["data"]["_entities"][0]["id"] == doctor["id"]
    assert result["data"]["_entities"][1] is None


async def test_admin_sees_every_profile_in_full(auth: AuthApi):
    _admin, token = await make_admin(auth)
    patient = await auth.register(phone="+1 555 0177")
    result = await auth.gql(ENTITIES, reps([patient["id"]]), token=token)
    assert result["data"]["_entities"][0]["phone"] == "+1 555 0177"


async def test_entities_without_a_token_are_unauthenticated(auth: AuthApi):
    patient = await auth.register()
    result = await auth.gql(ENTITIES, reps([patient["id"], "not-a-uuid"]))
    assert result["data"]["_entities"] == [None, None]
    assert {e["extensions"]["code"] for e in result["errors"]} == {"UNAUTHENTICATED"}


async def test_unexpected_errors_are_masked(auth: AuthApi, monkeypatch):
    from subgraphs.auth.users import service

    async def explode(*_args, **_kwargs):
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(service.UserService, "profile", explode)
    _user, token = await auth.user_with_token()
    result = await auth.gql("{ me { id } }", token=token)
    assert result["errors"][0]["message"] == "Unexpected error."
    assert result["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    rest = await auth.client.get("/users/profile", headers=auth.bearer(token))
    assert rest.status_code == 500
    assert "secret" not in rest.text and "Traceback" not in rest.text


async def test_suggestions_do_not_leak_field_names(auth: AuthApi):
    result = await auth.gql("{ mee { id } }")
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in result["errors"][0]["message"]


@pytest.mark.parametrize("path", ["graphql", "rest"])
async def test_a_failure_after_a_flush_leaves_nothing_written(auth: AuthApi, monkeypatch, path):
    """docs/pitfalls.md #1: GraphQL errors never reach a dependency's except branch; services own their transactions."""
    from subgraphs.auth.users import service

    user, token = await auth.user_with_token()

    async def flush_then_fail(session, _user_id):
        await session.flush()  # the new name and password hash reach the database ...
        raise RuntimeError("disk on fire")  # ... and then the use case fails

    monkeypatch.setattr(service.tokens_repository, "revoke_all_for_user", flush_then_fail)
    change = {"full_name": "Should Not Stick", "password": "another passphrase", "current_password": user["password"]}
    if path == "graphql":
        result = await auth.gql(
            UPDATE_ALL,
            {
                "i": {
                    "fullName": change["full_name"],
                    "password": change["password"],
                    "currentPassword": user["password"],
                }
            },
            token=token,
        )
        assert result["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    else:
        response = await auth.client.put("/users/profile", json=change, headers=auth.bearer(token))
        assert response.status_code == 500
    monkeypatch.undo()
    profile = (await auth.client.get("/users/profile", headers=auth.bearer(token))).json()
    assert profile["full_name"] == user["full_name"]
    assert (
        await auth.client.post("/auth/login", json={"email": user["email"], "password": user["password"]})
    ).status_code == 200


UPDATE_ALL = "mutation($i: ProfileInput!) { updateProfile(input: $i) { fullName } }"


@pytest.mark.parametrize("path", ["graphql", "rest"])
async def test_a_registration_failing_after_its_insert_leaves_no_rows(auth: AuthApi, monkeypatch, path):
    """The INSERT reaches the database, then the unit of work fails: no user may remain."""
    from sqlalchemy import event, func, select

    from subgraphs.auth.users import repository
    from subgraphs.auth.users.models import User

    real_add = repository.add

    def add_then_fail_after_flush(session, user):
        @event.listens_for(session.sync_session, "after_flush", once=True)
        def fail(*_args):
            raise RuntimeError("failure after the INSERT ran")

        return real_add(session, user)

    monkeypatch.setattr(repository, "add", add_then_fail_after_flush)
    body = {"email": "ghost@example.org", "password": "a long passphrase", "full_name": "Ghost"}
    if path == "graphql":
        result = await auth.gql(
            "mutation($i: RegisterInput!) { register(input: $i) { id } }",
            {"i": {"email": body["email"], "password": body["password"], "fullName": body["full_name"]}},
        )
        assert result["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    else:
        assert (await auth.client.post("/auth/register", json=body)).status_code == 500
    async with auth.app.state.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_during_a_secret_rotation_both_secrets_open_the_subgraph(make_auth_app):
    from ..conftest import running

    app = make_auth_app(router_secret="new-secret", router_secret_previous="old-secret")
    async for client in running(app):
        for secret, status in (("new-secret", 200), ("old-secret", 200), ("other", 401), ("", 401)):
            response = await client.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"x-router-secret": secret}
            )
            assert response.status_code == status, secret
