"""How a validly signed access token stands today: its account's activity and role, and its session.

The auth service's own routes ask this through `AccountStatus` (at most once per
ACCOUNT_RECHECK_SECONDS per token); `validate-token`, which every other service
asks, answers it fresh each time.
"""

from __future__ import annotations

from subgraphs.kit.db import Database
from subgraphs.kit.jwt import Standing
from subgraphs.kit.principal import Principal

from ..users import repository as users_repository
from ..users.models import User
from . import repository


class TokenStanding:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def of(self, principal: Principal) -> tuple[Standing, User | None]:
        async with self.db.session() as session:
            user = await users_repository.get(session, principal.user_id)
            if user is None or not user.is_active:
                return Standing.INACTIVE, user
            if user.role != principal.role.value:
                return Standing.ROLE_CHANGED, user
            if principal.session_id is not None and await repository.session_ended(session, principal.session_id):
                return Standing.SESSION_ENDED, user
        return Standing.CURRENT, user

    async def ask(self, _token: str, principal: Principal) -> Standing:
        """For `AccountStatus`: the database always answers here."""
        standing, _user = await self.of(principal)
        return standing
