"""Sign-in, token issue, refresh-token rotation and reuse detection, validation, logout."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

import jwt

from subgraphs.kit.db import Database, utcnow
from subgraphs.kit.errors import AppError, Unauthenticated
from subgraphs.kit.jwt import ALGORITHM, TOKEN_TYPE, TokenVerifier
from subgraphs.kit.principal import Principal

from ..config import AuthSettings
from ..users.models import User
from ..users.service import UserService
from . import repository
from .keys import KeyRing
from .models import RefreshToken
from .schemas import TokenPair, TokenValidity
from .throttle import LoginThrottle


class InvalidGrant(AppError):
    """A refresh token that is unknown, expired, reused or revoked (RFC 6749 `invalid_grant`)."""

    status = 400
    code = "INVALID_GRANT"
    title = "Invalid grant"


class TokenService:
    def __init__(
        self,
        db: Database,
        users: UserService,
        keys: KeyRing,
        verifier: TokenVerifier,
        throttle: LoginThrottle,
        settings: AuthSettings,
    ) -> None:
        self.db = db
        self.users = users
        self.keys = keys
        self.verifier = verifier
        self.throttle = throttle
        self.settings = settings
        self._digest_key = settings.secret_key.encode()

    def _hash(self, token: str) -> str:
        """What is stored of a refresh token: an HMAC keyed with SECRET_KEY, so a copy of
        the database alone cannot even be searched for a stolen token."""
        return hmac.new(self._digest_key, token.encode(), hashlib.sha256).hexdigest()

    async def login(self, email: str, password: str, client_address: str | None) -> TokenPair:
        await self.throttle.check(email, client_address)
        try:
            user = await self.users.authenticate(email, password)
        except Unauthenticated:
            await self.throttle.failed(email, client_address)
            raise
        await self.throttle.succeeded(email)
        return await self._issue(user, family_id=uuid.uuid4())

    async def refresh(self, refresh_token: str) -> TokenPair:
        now = utcnow()
        reused = False
        async with self.db.transaction() as session:
            stored = await repository.get_by_hash(session, self._hash(refresh_token))
            if stored is None:
                raise InvalidGrant("The refresh token is not valid.")
            if stored.used_at is not None or stored.revoked_at is not None:
                # Someone is replaying a token already exchanged: whoever holds
                # its successors may be an attacker, so the whole family ends.
                await repository.revoke_family(session, stored.family_id)
                reused = True
            elif stored.expires_at <= now or not await repository.mark_used(session, stored.id, now):
                raise InvalidGrant("The refresh token is not valid.")
        # Raised after the block so that the family's revocation is committed.
        if reused:
            raise InvalidGrant("The refresh token was already used; its sessions are revoked.")
        try:
            user = await self.users.active_user(stored.user_id)
        except Unauthenticated as exc:
            raise InvalidGrant("The account is not active.") from exc
        return await self._issue(user, family_id=stored.family_id)

    async def logout(self, refresh_token: str) -> None:
        """Ends the session the refresh token belongs to. Unknown tokens are ignored."""
        async with self.db.transaction() as session:
            stored = await repository.get_by_hash(session, self._hash(refresh_token))
            if stored is not None:
                await repository.revoke_family(session, stored.family_id)

    async def validate(self, token: str) -> TokenValidity:
        principal = await self.verifier.verify(token)
        user = await self.users.active_user(principal.user_id)
        return TokenValidity(user_id=user.id, email=user.email, role=user.role, expires_at=principal.expires_at)

    async def principal_for(self, token: str) -> Principal:
        return await self.verifier.verify(token)

    async def _issue(self, user: User, *, family_id: uuid.UUID) -> TokenPair:
        now = utcnow()
        lifetime = timedelta(minutes=self.settings.access_token_minutes)
        claims = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(user.id),
            "role": user.role,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        access = jwt.encode(
            claims,
            self.keys.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self.keys.signing_kid, "typ": TOKEN_TYPE},
        )
        refresh = secrets.token_urlsafe(32)
        async with self.db.transaction() as session:
            repository.add(
                session,
                RefreshToken(
                    user_id=user.id,
                    family_id=family_id,
                    token_hash=self._hash(refresh),
                    issued_at=now,
                    expires_at=now + timedelta(days=self.settings.refresh_token_days),
                ),
            )
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=int(lifetime.total_seconds()))
