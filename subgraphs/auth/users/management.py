"""What admins do to users: find them, deactivate or reactivate them, change their role.

The last active admin can be neither demoted nor deactivated, so the system can
never lock every administrator out. A deactivated or re-roled user's sessions end
at once (refresh tokens revoked); their access tokens stop working at the next
check of each service (ACCOUNT_RECHECK_SECONDS), which compares the token's role
with the account's.
"""

from __future__ import annotations

import uuid

from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.db import Database
from subgraphs.kit.errors import Conflict, NotFound
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal, Role, require_admin

from ..tokens import repository as tokens_repository
from . import repository
from .models import User
from .schemas import UserAdminUpdate
from .service import audited


class LastAdmin(Conflict):
    code = "LAST_ADMIN"
    title = "The last active admin must stay an active admin"


class UserManagement:
    def __init__(self, db: Database, audit: AuditTrail) -> None:
        self.db = db
        self.audit = audit

    async def search(
        self, principal: Principal, *, role: Role | None, q: str | None, page: PageParams
    ) -> tuple[list[User], int]:
        require_admin(principal)
        async with self.db.session() as session:
            users, total = await repository.search(
                session, role=role.value if role else None, q=q, limit=page.limit, offset=page.offset
            )
        self.audit.record(*(audited(principal, "read", user) for user in users))
        return users, total

    async def update(self, principal: Principal, user_id: uuid.UUID, change: UserAdminUpdate) -> User:
        require_admin(principal)
        async with self.db.transaction() as session:
            admins = await repository.lock_active_admins(session)
            user = await repository.get(session, user_id)
            if user is None:
                raise NotFound("No such user.")
            stays_admin = (change.role or user.role) == Role.ADMIN.value and (
                change.is_active if change.is_active is not None else user.is_active
            )
            if user.id in admins and not stays_admin and len(admins) == 1:
                raise LastAdmin("Make another admin before demoting or deactivating this one.")
            role_changed = change.role is not None and change.role != user.role
            if change.role is not None:
                user.role = change.role
            if change.is_active is not None:
                user.is_active = change.is_active
            if not user.is_active or role_changed:
                # Sessions carry the old role or a dead account: end them. Their access tokens
                # fail their next check (ACCOUNT_RECHECK_SECONDS) on every service.
                await tokens_repository.revoke_all_for_user(session, user.id)
            await session.flush()
            await self.audit.append(session, audited(principal, "update", user))
        return user

    async def counts_by_role(self, principal: Principal) -> dict[str, int]:
        """Aggregates only: how many users of each role (no names)."""
        require_admin(principal)
        async with self.db.session() as session:
            counts = await repository.count_by_role(session)
        return {role.value: counts.get(role.value, 0) for role in Role}
