"""Refresh rotation under concurrency: two requests with one refresh token at the same moment.

Whichever wins, the other is a detected reuse, and after it no token of that session works:
neither the winner's new refresh token nor any access token issued to the session.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from subgraphs.auth.tokens import repository
from subgraphs.auth.tokens.models import RefreshToken

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


async def test_a_replay_racing_the_holders_refresh_leaves_no_live_token(auth: AuthApi):
    """The replayed token is an old one of the family, the holder refreshes the newest: whatever
    the order, the family ends, a token stored by the holder's refresh included."""
    user = await auth.register()
    for trial in range(TRIALS):
        first = await auth.login(user["email"])
        newest = (await refresh(auth, first["refresh_token"])).json()
        replay, holder = await asyncio.gather(
            refresh(auth, first["refresh_token"]), refresh(auth, newest["refresh_token"])
        )
        assert replay.status_code == 400, trial
        issued = [newest] + ([holder.json()] if holder.status_code == 200 else [])
        for pair in issued:
            assert (await refresh(auth, pair["refresh_token"])).status_code == 400, trial
            refused = await validate(auth, pair["access_token"])
            assert refused.status_code == 401 and refused.json()["reason"] == "session_ended", (trial, refused.text)


async def _until_a_lock_is_awaited(db) -> None:
    """Until some statement waits for a row lock (PostgreSQL's pg_locks): a count, not a delay."""
    for _ in range(500):
        async with db.session() as session:
            if await session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("no statement ever waited for the family's lock")


# PostgreSQL only: SQLite serializes write transactions (BEGIN IMMEDIATE), so there a revocation
# cannot even begin while a rotation is under way.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_revocation_waits_for_a_rotation_under_way_and_takes_its_token(auth: AuthApi):
    user = await auth.register()
    pair = await auth.login(user["email"])
    db = auth.app.state.db
    async with db.transaction() as session:
        family_id = await session.scalar(
            select(RefreshToken.family_id).where(RefreshToken.user_id == uuid.UUID(user["id"]))
        )
        await repository.lock_family(session, family_id)
        # What a rotation stores while it holds the family: a successor.
        now = datetime.now(UTC)
        session.add(
            RefreshToken(
                user_id=uuid.UUID(user["id"]),
                family_id=family_id,
                token_hash="s" * 64,
                issued_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
        await session.flush()
        logout = asyncio.create_task(auth.client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}))
        await _until_a_lock_is_awaited(db)
    assert (await logout).status_code == 204
    async with db.session() as session:
        alive = await session.scalar(
            select(func.count()).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        )
    assert alive == 0
