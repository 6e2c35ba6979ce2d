"""Tokens an attacker would try (RFC 8725, OWASP JWT cheat sheet): every one is 401, never 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from ..tokens import claims_for, forge, new_keys
from .conftest import AuthApi


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)])


def _hs256_with_public_key(keys, claims: dict) -> str:
    """The classic key-confusion attack: HMAC keyed with the server's public key."""
    public_pem = keys.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": keys.signing_kid}
    signing_input = ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())])
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def _without(claims: dict, name: str) -> dict:
    return {key: value for key, value in claims.items() if key != name}


def attacks(keys, user_id: str) -> dict[str, str]:
    good = claims_for(user_id, "patient")
    stranger = new_keys()
    return {
        "alg none": _unsigned({"alg": "none", "typ": "at+jwt", "kid": keys.signing_kid}, good),
        "hs256 keyed with the public key": _hs256_with_public_key(keys, good),
        "expired": forge(keys, claims_for(user_id, "patient", lifetime=timedelta(minutes=-5))),
        "not yet valid": forge(keys, {**good, "nbf": good["nbf"] + 3600}),
        "wrong audience": forge(keys, {**good, "aud": "another-api"}),
        "audience list with ours among others": forge(keys, {**good, "aud": ["healthcare-api", "x"]}),
        "wrong issuer": forge(keys, {**good, "iss": "evil-auth"}),
        "issuer prefix": forge(keys, {**good, "iss": "healthcare-aut"}),
        **{
            f"missing {claim}": forge(keys, _without(good, claim))
            for claim in ("exp", "nbf", "iat", "iss", "aud", "sub", "jti", "role")
        },
        "unknown kid": forge(stranger, good),
        "known kid, foreign signature": forge(keys, good, key=stranger.signing_key),
        "no kid": forge(keys, good, headers={"kid": None}),
        "wrong typ": forge(keys, good, headers={"typ": "JWT"}),
        "unknown role": forge(keys, {**good, "role": "superuser"}),
        "sub not a uuid": forge(keys, {**good, "sub": "admin"}),
        "tampered payload": _tamper(forge(keys, good)),
        "garbage": "not.a.token",
        "oversized": "a" * 10_000,
    }


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


@pytest.fixture
async def victim(auth: AuthApi) -> dict:
    return await auth.register()


ATTACK_NAMES = list(attacks(new_keys(), str(uuid.uuid4())))


@pytest.mark.parametrize("attack", ATTACK_NAMES)
async def test_forged_tokens_are_refused_everywhere(auth: AuthApi, victim, attack):
    token = attacks(auth.app.state.keys, victim["id"])[attack]
    headers = {"authorization": f"Bearer {token}"}

    profile = await auth.client.get("/users/profile", headers=headers)
    assert profile.status_code == 401, profile.text
    assert profile.json()["code"] == "UNAUTHENTICATED"

    validate = await auth.client.get("/auth/validate-token", headers=headers)
    assert validate.status_code == 401
    assert validate.json()["valid"] is False

    result = await auth.gql("{ me { id email } }", token=token)
    assert result["data"]["me"] is None
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_genuine_token_is_accepted(auth: AuthApi, victim):
    token = forge(auth.app.state.keys, claims_for(victim["id"], "patient"))
    response = await auth.client.get("/users/profile", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["id"] == victim["id"]


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_missing_or_odd_authorization_is_401(auth: AuthApi, header):
    response = await auth.client.get("/users/profile", headers={"authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_of_a_user_that_does_not_exist_is_refused(auth: AuthApi):
    token = forge(auth.app.state.keys, claims_for(uuid.uuid4(), "patient"))
    assert (await auth.client.get("/users/profile", headers={"authorization": f"Bearer {token}"})).status_code == 401
    assert (
        await auth.client.post("/auth/validate-token", headers={"authorization": f"Bearer {token}"})
    ).status_code == 401
