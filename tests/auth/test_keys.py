from __future__ import annotations

from subgraphs.auth.app import create_app
from subgraphs.auth.tokens.keys import KeyRing, private_pem

from ..conftest import running
from ..tokens import claims_for, forge, new_keys
from .conftest import AuthApi, auth_settings


async def test_keys_are_generated_once_and_kept(tmp_path, database_for):
    from subgraphs.auth.app import MIGRATIONS

    url = database_for("auth", MIGRATIONS)
    first = create_app(auth_settings(url, tmp_path))
    second = create_app(auth_settings(url, tmp_path))
    assert first.state.keys.signing_kid == second.state.keys.signing_kid
    assert first.state.keys.generated and not second.state.keys.generated
    (key_file,) = (tmp_path / "keys" / "auth").glob("*.pem")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


async def test_rotation_publishes_both_keys_and_old_tokens_still_verify(tmp_path, database_for):
    from subgraphs.auth.app import MIGRATIONS

    old, new = new_keys(), new_keys()
    pem = (private_pem(new.signing_key) + private_pem(old.signing_key)).decode()
    app = create_app(auth_settings(database_for("auth", MIGRATIONS), tmp_path, jwt_private_keys=pem))
    async for client in running(app):
        api = AuthApi(client, app)
        user = await api.register()
        kids = {key["kid"] for key in (await client.get("/.well-known/jwks.json")).json()["keys"]}
        assert kids == {old.signing_kid, new.signing_kid}

        issued = await api.login(user["email"])
        import jwt

        assert jwt.get_unverified_header(issued["access_token"])["kid"] == new.signing_kid
        old_token = forge(old, claims_for(user["id"], "patient"))
        assert (await client.get("/users/profile", headers=api.bearer(old_token))).status_code == 200


def test_only_p256_keys_are_accepted():
    import pytest
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(ValueError, match="P-256"):
        KeyRing([ec.generate_private_key(ec.SECP384R1())])
