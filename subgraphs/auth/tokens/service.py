"""Sign-in, token issue, refresh-token rotation and reuse detection, validation, logout."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit.db import Database, utcnow
from subgraphs.kit.errors import AppError, Unauthenticated
from subgraphs.kit.jwt import ALGORITHM, TOKEN_TYPE, Standing, TokenVerifier
from subgraphs.kit.principal import Principal

from ..config import AuthSettings
from ..users import repository as users_repository
from ..users.models import User
from ..users.service import UserService
from . import repository
from .keys import KeyRing
from .models import RefreshToken
from .schemas import TokenPair, TokenValidity
from .standing import TokenStanding
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
        standing: TokenStanding,
    ) -> None:
        self.db = db
        self.users = users
        self.keys = keys
        self.verifier = verifier
        self.standing = standing
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
        async with self.db.transaction() as session:
            return self._issue(session, user, family_id=uuid.uuid4())

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotation: the token is marked used and its successor stored in ONE transaction,
        with the family's rows locked.

        So whoever finds the token used also finds its successor, and revoking the family
        takes it. Of two requests racing with one token, exactly one gets through; the
        other is a reuse like any replay, and the family it revokes includes the token
        just issued to the winner (whose access tokens then fail their next check: they
        name the family in `sid`). A family with a revoked token has ended: none of its
        tokens is exchanged again.
        """
        now = utcnow()
        async with self.db.transaction() as session:
            found = await repository.get_by_hash(session, self._hash(refresh_token))
            if found is None:
                raise InvalidGrant("The refresh token is not valid.")
            family = await repository.lock_family(session, found.family_id)
            stored = next(token for token in family if token.id == found.id)
            reused = stored.used_at is not None or any(token.revoked_at is not None for token in family)
            if not reused and stored.expires_at <= now:
                raise InvalidGrant("The refresh token is not valid.")
            if not reused and not await repository.mark_used(session, stored.id, now):
                reused = True  # another request used it since we read it
            if reused:
                # Someone is replaying a token already exchanged: whoever holds
                # its successors may be an attacker, so the whole family ends.
                await repository.revoke_family(session, stored.family_id)
            else:
                user = await users_repository.get(session, stored.user_id)
                if user is None or not user.is_active:
                    raise InvalidGrant("The account is not active.")
                return self._issue(session, user, family_id=stored.family_id)
        # Raised after the block so that the family's revocation is committed.
        raise InvalidGrant("The refresh token was already used; its sessions are revoked.")

    async def logout(self, refresh_token: str) -> None:
        """Ends the session the refresh token belongs to (its access tokens fail their next
        check). Unknown tokens are ignored."""
        async with self.db.transaction() as session:
            stored = await repository.get_by_hash(session, self._hash(refresh_token))
            if stored is not None:
                await repository.lock_family(session, stored.family_id)
                await repository.revoke_family(session, stored.family_id)

    async def validate(self, token: str) -> TokenValidity:
        """Asked by every other service's `AccountStatus`: answered fresh, never from a cache."""
        principal = await self.verifier.principal_of(token)
        standing, user = await self.standing.of(principal)
        if standing is not Standing.CURRENT:
            raise standing.refusal
        assert user is not None  # a current standing is always an existing, active account
        return TokenValidity(user_id=user.id, email=user.email, role=user.role, expires_at=principal.expires_at)

    async def principal_for(self, token: str) -> Principal:
        return await self.verifier.verify(token)

    def _issue(self, session: AsyncSession, user: User, *, family_id: uuid.UUID) -> TokenPair:
        """A new pair of the session `family_id`; its refresh token is stored in `session`."""
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
            # The session, so that ending it (logout, reuse) ends its access tokens too.
            "sid": str(family_id),
        }
        access = jwt.encode(
            claims,
            self.keys.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self.keys.signing_kid, "typ": TOKEN_TYPE},
        )
        refresh = secrets.token_urlsafe(32)
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
