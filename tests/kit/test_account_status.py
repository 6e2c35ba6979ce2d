"""`remote_account_status`: what another service makes of auth's `validate-token` answers."""

from __future__ import annotations

import uuid

import httpx
import pytest

from subgraphs.kit.errors import Unauthenticated
from subgraphs.kit.jwt import StaticKeys, TokenVerifier, remote_account_status

from ..tokens import AUDIENCE, ISSUER, mint, new_keys

KEYS = new_keys()


def verifier_answered_by(answer: httpx.Response, clock=lambda: 0.0) -> tuple[TokenVerifier, list]:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers["authorization"])
        return answer

    status = remote_account_status(
        "http://auth/auth/validate-token", transport=httpx.MockTransport(handler), clock=clock
    )
    verifier = TokenVerifier(StaticKeys(KEYS.public_keys), issuer=ISSUER, audience=AUDIENCE, status=status)
    return verifier, asked


async def test_a_role_other_than_the_claim_is_refused_even_when_auth_says_valid():
    """An auth release without the role check answers 200 with the account's current role."""
    verifier, _ = verifier_answered_by(httpx.Response(200, json={"valid": True, "role": "patient"}))
    token = mint(KEYS, uuid.uuid4(), "admin")
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert refused.value.extensions == {"reason": "role_changed"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"reason": "session_ended"}, "session_ended"),
        ({"reason": "role_changed"}, "role_changed"),
        ({"reason": "current"}, "inactive"),  # a 401 is never "current"
        ({"detail": "Invalid token."}, "inactive"),
    ],
)
async def test_a_refusal_keeps_auths_reason(body, reason):
    verifier, _ = verifier_answered_by(httpx.Response(401, json={"valid": False, **body}))
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(mint(KEYS, uuid.uuid4(), "patient"))
    assert refused.value.extensions == {"reason": reason}


async def test_the_answer_is_remembered_for_the_recheck_period_and_auth_down_accepts():
    now = [0.0]
    verifier, asked = verifier_answered_by(httpx.Response(200, json={"role": "doctor"}), clock=lambda: now[0])
    token = mint(KEYS, uuid.uuid4(), "doctor")
    await verifier.verify(token)
    now[0] = 29
    await verifier.verify(token)
    assert len(asked) == 1
    now[0] = 30
    await verifier.verify(token)
    assert len(asked) == 2

    down, _ = verifier_answered_by(httpx.Response(503))
    principal = await down.verify(mint(KEYS, uuid.uuid4(), "patient"))
    assert principal.role.value == "patient"
