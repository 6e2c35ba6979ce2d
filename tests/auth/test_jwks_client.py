"""The JWKS client other services use, against a real auth app in process."""

from __future__ import annotations

import httpx

from subgraphs.kit.jwt import RemoteJwks, TokenVerifier

from .conftest import AuthApi


async def test_remote_jwks_verifies_tokens_and_refetches_once_per_cooldown(auth: AuthApi):
    user, token = await auth.user_with_token()
    transport = httpx.ASGITransport(app=auth.app)
    now = [0.0]
    jwks = RemoteJwks("http://auth/.well-known/jwks.json", cooldown=30, transport=transport, clock=lambda: now[0])
    verifier = TokenVerifier(jwks, issuer="healthcare-auth", audience="healthcare-api")

    principal = await verifier.verify(token)
    assert str(principal.user_id) == user["id"]
    assert jwks.fetches == 1
    await verifier.verify(token)
    assert jwks.fetches == 1  # cached

    # Unknown kids cannot make the service hammer the auth service:
    # at most one refetch per cool-down, however many unknown kids arrive.
    now[0] = 1
    for kid in ("unknown-1", "unknown-2"):
        assert await jwks.get(kid) is None
    assert jwks.fetches == 1
    now[0] = 31
    assert await jwks.get("unknown-3") is None
    assert await jwks.get("unknown-4") is None
    assert jwks.fetches == 2


async def test_cached_keys_keep_verifying_when_auth_is_down(auth: AuthApi):
    _user, token = await auth.user_with_token()
    jwks = RemoteJwks("http://auth/.well-known/jwks.json", cooldown=0, transport=httpx.ASGITransport(app=auth.app))
    verifier = TokenVerifier(jwks, issuer="healthcare-auth", audience="healthcare-api")
    await verifier.verify(token)

    # The auth service goes away: nothing listens on port 9.
    jwks.transport = None
    jwks.url = "http://127.0.0.1:9/.well-known/jwks.json"
    assert await jwks.get("some-new-kid") is None  # the refetch failed ...
    assert (await verifier.verify(token)).role.value == "patient"  # ... and the cached key still works
