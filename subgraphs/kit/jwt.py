"""Access-token verification (RFC 8725 rules) against the auth service's keys.

Every subgraph verifies tokens itself: the router's JWT support needs a licence,
and a subgraph must not trust what it cannot check. The algorithm is pinned,
`kid` is required, `iss`/`aud`/`exp`/`nbf`/`iat`/`sub`/`jti` must all be present,
and the token type must be `at+jwt` (RFC 9068) so no other signed document the
auth service might issue can stand in for an access token.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx
import jwt
from jwt import PyJWK

from .errors import Unauthenticated
from .logging import REQUEST_ID_HEADER, request_id_var
from .principal import Principal, Role
from .tracing import outgoing_trace_headers

log = logging.getLogger(__name__)

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "role"]
MAX_TOKEN_BYTES = 4096


class KeySource(Protocol):
    async def get(self, kid: str) -> Any | None:
        """The public key for `kid`, or None when it is not known."""


class StaticKeys:
    """Keys held in process, as the auth service holds its own."""

    def __init__(self, keys: dict[str, Any]) -> None:
        self._keys = keys

    async def get(self, kid: str) -> Any | None:
        return self._keys.get(kid)


class RemoteJwks:
    """The auth service's JWKS, cached; refetched on an unknown `kid` at most once a cool-down.

    When the auth service cannot be reached the cached keys keep working, so
    tokens still verify while it is down.
    """

    def __init__(
        self,
        url: str,
        *,
        cooldown: float = 30.0,
        timeout: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock=time.monotonic,
    ) -> None:
        self.url = url
        self.cooldown = cooldown
        self.timeout = timeout
        # Tests hand in an in-process transport to a real auth app.
        self.transport = transport
        self.fetches = 0
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> Any | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            if kid in self._keys:
                return self._keys[kid]
            if self._fetched_at is not None and self._clock() - self._fetched_at < self.cooldown:
                return None
            await self._refresh()
            return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._fetched_at = self._clock()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport, verify=_tls()) as client:
                response = await client.get(self.url, headers=_propagated())
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks fetch failed", extra={"url": self.url, "error": type(exc).__name__})
            return
        keys: dict[str, Any] = {}
        for entry in document.get("keys", []):
            if entry.get("kid") and entry.get("alg", ALGORITHM) == ALGORITHM:
                try:
                    keys[entry["kid"]] = PyJWK(entry, algorithm=ALGORITHM).key
                except jwt.PyJWTError:
                    log.warning("jwks entry refused", extra={"kid": entry.get("kid")})
        # Keep keys we already trust: a key removed upstream stops being
        # trusted when the process restarts, never mid-flight by a bad fetch.
        self._keys.update(keys)


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs), made once: building one costs milliseconds of
    CPU, and a client is made per account recheck (docs/performance.md)."""
    return httpx.create_ssl_context()


def _propagated() -> dict[str, str]:
    """The request id and trace context of the request being served, for a call it makes."""
    headers = outgoing_trace_headers()
    if request_id := request_id_var.get():
        headers[REQUEST_ID_HEADER] = request_id
    return headers


class Standing(StrEnum):
    """What the auth service says of a validly signed token today."""

    CURRENT = "current"
    INACTIVE = "inactive"  # the account is deactivated (or gone)
    ROLE_CHANGED = "role_changed"  # the account's role is no longer the token's `role` claim
    SESSION_ENDED = "session_ended"  # the token's session (`sid`) was revoked: logout, reuse, password

    @property
    def refusal(self) -> Unauthenticated:
        """The 401 for a token of this standing; `reason` tells a client why it must sign in again."""
        return Unauthenticated(_REFUSALS[self], reason=self.value)


_REFUSALS = {
    Standing.INACTIVE: "This account is not active.",
    Standing.ROLE_CHANGED: "This token's role is no longer current; sign in again.",
    Standing.SESSION_ENDED: "This token's session has ended; sign in again.",
}


class AccountStatus:
    """Whether a valid token still stands, asked at most once per `recheck_seconds` per token.

    A signature only proves the token was issued; since then an admin may have
    deactivated the account or changed its role, or its session may have ended.
    Each service asks the auth service (or, in auth, its own database) and
    remembers the answer for a while, so such a token stops working at the next
    check instead of at its expiry: `recheck_seconds` (ACCOUNT_RECHECK_SECONDS)
    bounds the delay. When the answer cannot be had (auth down), the token is
    accepted on its signature alone: availability first, and a token lives at
    most 15 minutes anyway.
    """

    def __init__(self, ask, *, recheck_seconds: float = 30.0, clock=time.monotonic) -> None:
        # ask(token, principal) -> a Standing, or None when it could not tell
        self._ask = ask
        self.recheck_seconds = recheck_seconds
        # Public so that tests move time instead of sleeping.
        self.clock = clock
        self._answers: dict[str, tuple[Standing, float]] = {}

    async def check(self, token: str, principal: Principal) -> None:
        now = self.clock()
        cached = self._answers.get(principal.token_id)
        if cached is None or now - cached[1] >= self.recheck_seconds:
            answer = await self._ask(token, principal)
            if answer is None:
                return
            if len(self._answers) > 50_000:
                self._answers.clear()
            cached = self._answers[principal.token_id] = (answer, now)
        if cached[0] is not Standing.CURRENT:
            raise cached[0].refusal


def remote_account_status(
    validate_url: str,
    *,
    recheck_seconds: float = 30.0,
    timeout: float = 2.0,
    transport: httpx.AsyncBaseTransport | None = None,
    clock=time.monotonic,
) -> AccountStatus:
    """Asks the auth service's `validate-token` route."""

    async def ask(token: str, principal: Principal) -> Standing | None:
        try:
            async with httpx.AsyncClient(timeout=timeout, transport=transport, verify=_tls()) as client:
                headers = {"authorization": f"Bearer {token}", **_propagated()}
                response = await client.get(validate_url, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("account status unavailable", extra={"error": type(exc).__name__})
            return None
        if response.status_code not in (200, 401):
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if response.status_code == 401:
            try:
                refused = Standing(str(body.get("reason")))
            except ValueError:  # "Invalid token." and answers without a reason (str(None) is no standing)
                refused = Standing.INACTIVE
            return Standing.INACTIVE if refused is Standing.CURRENT else refused
        # validate-token refuses a token whose role changed; compared here too, so that an auth
        # service of an older release (mid-deploy) cannot let a stale role through.
        if body.get("role", principal.role.value) != principal.role.value:
            return Standing.ROLE_CHANGED
        return Standing.CURRENT

    return AccountStatus(ask, recheck_seconds=recheck_seconds, clock=clock)


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway: float = 5.0,
        status: AccountStatus | None = None,
    ):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.status = status

    async def verify(self, token: str) -> Principal:
        """The principal a valid access token names; `Unauthenticated` for anything else,
        a token whose account, role or session no longer stands included (`AccountStatus`)."""
        principal = await self.principal_of(token)
        if self.status is not None:
            await self.status.check(token, principal)
        return principal

    async def principal_of(self, token: str) -> Principal:
        """The principal a validly signed access token names, without asking how it stands today."""
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("Invalid token.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Invalid token.") from exc
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise Unauthenticated("Invalid token.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("Invalid token.")
        key = await self.keys.get(kid)
        if key is None:
            raise Unauthenticated("Invalid token.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
            principal = Principal(
                user_id=uuid.UUID(claims["sub"]),
                role=Role(claims["role"]),
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                session_id=_session_id(claims.get("sid")),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise Unauthenticated("Invalid token.") from exc
        return principal


def _session_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ValueError("sid must be a short string")
    return value


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
