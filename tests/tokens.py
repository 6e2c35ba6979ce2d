"""Access tokens for tests of services other than auth, signed the way the auth service signs.

A service under test is built with `verifier_for(keys)`; `mint(keys, user_id, role)`
gives a token it accepts. Bad tokens for attack tests are made by `forge`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from subgraphs.auth.tokens.keys import KeyRing
from subgraphs.kit.jwt import ALGORITHM, TOKEN_TYPE, StaticKeys, TokenVerifier

ISSUER = "healthcare-auth"
AUDIENCE = "healthcare-api"


def new_keys() -> KeyRing:
    return KeyRing([ec.generate_private_key(ec.SECP256R1())])


def verifier_for(keys: KeyRing) -> TokenVerifier:
    return TokenVerifier(StaticKeys(keys.public_keys), issuer=ISSUER, audience=AUDIENCE)


def claims_for(user_id: uuid.UUID | str, role: str, lifetime: timedelta = timedelta(minutes=15)) -> dict:
    now = datetime.now(UTC)
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "role": role,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }


def forge(keys: KeyRing, claims: dict, *, headers: dict | None = None, key=None, algorithm: str = ALGORITHM) -> str:
    header = {"kid": keys.signing_kid, "typ": TOKEN_TYPE, **(headers or {})}
    header = {name: value for name, value in header.items() if value is not None}  # None removes a header
    return jwt.encode(claims, key if key is not None else keys.signing_key, algorithm=algorithm, headers=header)


def mint(keys: KeyRing, user_id: uuid.UUID | str, role: str) -> str:
    return forge(keys, claims_for(user_id, role))
