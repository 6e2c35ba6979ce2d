"""Refresh rotation under concurrency: two requests with one refresh token at the same moment.

Whichever wins, the other is a detected reuse, and after it no token of that session works:
neither the winner's new refresh token nor any access token issued to the session.
"""

from __future__ import annotations

import asyncio

from .conftest import AuthApi
from .test_refresh_tokens import refresh

TRIALS = 5


async def validate(auth: AuthApi, access_token: str):
    return await auth.client.get("/auth/validate-token", headers=auth.bearer(access_token))


async def test_concurrent_refreshes_leave_no_live_token_in_the_family(auth: AuthApi):
    user = await auth.register()
    for trial in range(TRIALS):
        first = await auth.login(user["email"])
        answers = await asyncio.gather(refresh(auth, first["refresh_token"]), refresh(auth, first["refresh_token"]))

        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200, 400], (trial, [answer.text for answer in answers])
        winner = next(answer.json() for answer in answers if answer.status_code == 200)
        loser = next(answer.json() for answer in answers if answer.status_code == 400)
        assert loser["error"] == "invalid_grant"

        assert (await refresh(auth, winner["refresh_token"])).status_code == 400, trial
        for token in (winner["access_token"], first["access_token"]):
            refused = await validate(auth, token)
            assert refused.status_code == 401, (trial, refused.text)
            assert refused.json()["valid"] is False and refused.json()["reason"] == "session_ended"


async def test_a_refresh_token_used_once_stays_alive_with_its_session(auth: AuthApi):
    user = await auth.register()
    first = await auth.login(user["email"])
    second = (await refresh(auth, first["refresh_token"])).json()
    # No reuse: the session goes on, its older access token included.
    assert (await validate(auth, first["access_token"])).status_code == 200
    assert (await validate(auth, second["access_token"])).status_code == 200
    assert (await refresh(auth, second["refresh_token"])).status_code == 200


async def test_logout_ends_the_sessions_access_tokens_too(auth: AuthApi):
    user = await auth.register()
    pair = await auth.login(user["email"])
    other = await auth.login(user["email"])
    assert (await auth.client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})).status_code == 204
    assert (await validate(auth, pair["access_token"])).json()["reason"] == "session_ended"
    # Another session of the same user is another family.
    assert (await validate(auth, other["access_token"])).status_code == 200


async def test_a_token_without_a_session_claim_is_valid_until_it_expires(auth: AuthApi):
    """Tokens issued before access tokens named their session carry no `sid`: nothing can end
    them early but the account's own standing, and they expire within 15 minutes."""
    from ..tokens import claims_for, forge

    user = await auth.register()
    legacy = forge(auth.app.state.keys, claims_for(user["id"], "patient"))
    assert (await validate(auth, legacy)).status_code == 200
    changed = forge(auth.app.state.keys, claims_for(user["id"], "doctor"))
    assert (await validate(auth, changed)).json()["reason"] == "role_changed"
