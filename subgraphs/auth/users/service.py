"""Rules about users: registration, profiles, and who may see whose profile.

Visibility (docs/api-contract.md "Who may see what"):
- everyone sees their own profile, admins see every profile;
- a doctor sees the profiles of patients in their care (`care.py`);
- any signed-in user sees an active doctor's directory entry (name, email, role),
  so that a patient can read who their doctor is; phone and date of birth stay private.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from subgraphs.kit import audit
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.db import Database
from subgraphs.kit.errors import NotFound
from subgraphs.kit.principal import Principal, Role
from subgraphs.kit.ratelimit import RateLimit

from ..tokens import repository as tokens_repository
from . import repository
from .care import CareRelationships
from .errors import AccountDisabled, CurrentPasswordRequired, EmailTaken, InvalidCredentials
from .models import User
from .passwords import Passwords
from .schemas import ProfileUpdate, RegisterBody


def audited(principal: Principal | None, action: str, user: User, outcome: str = audit.ALLOWED) -> audit.AuditEvent:
    """An audit event about a user's profile; a patient's profile is that patient's data."""
    patient_id = user.id if user.role == Role.PATIENT.value else None
    return audit.event(principal, action, "user", user.id, patient_id, outcome)


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as one caller may see them: `full` is False for a directory entry."""

    user: User
    full: bool


class UserService:
    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        care: CareRelationships,
        audit: AuditTrail,
        *,
        registrations: RateLimit | None = None,
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.care = care
        self.audit = audit
        self.registrations = registrations

    async def register(self, body: RegisterBody, *, client_address: str | None = None) -> User:
        """Every attempt counts against the client address's registrations (REGISTRATION_MAX_PER_ADDRESS),
        before the password is hashed: hashing is the expensive part, and "email taken" answers
        would otherwise let a stranger probe for registered emails at will."""
        if self.registrations is not None and client_address:
            await self.registrations.hit(client_address, "Too many registrations from this address; try again later.")
        return await self._create(
            body.email, body.password, body.full_name, Role(body.role), body.phone, body.date_of_birth
        )

    async def create_admin(self, email: str, password: str, full_name: str) -> User:
        """Admins are never self-registered: this is the CLI's way to make one."""
        checked = RegisterBody(email=email, password=password, full_name=full_name)
        return await self._create(checked.email, checked.password, checked.full_name, Role.ADMIN, None, None)

    async def _create(self, email, password, full_name, role, phone, date_of_birth) -> User:
        password_hash = await self.passwords.hash(password)
        try:
            async with self.db.transaction() as session:
                if await repository.email_exists(session, email):
                    raise EmailTaken("An account with this email already exists.")
                user = repository.add(
                    session,
                    User(
                        email=email.lower(),
                        password_hash=password_hash,
                        full_name=full_name,
                        role=role.value,
                        phone=phone,
                        date_of_birth=date_of_birth,
                        is_active=True,
                    ),
                )
                await session.flush()
                await self.audit.append(session, audited(None, "create", user))
        except IntegrityError as exc:  # a concurrent registration won the race
            raise EmailTaken("An account with this email already exists.") from exc
        return user

    async def authenticate(self, email: str, password: str) -> User:
        """The active user with these credentials; one error for every way it can fail."""
        async with self.db.session() as session:
            user = await repository.get_by_email(session, email)
        ok = await self.passwords.verify(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            raise InvalidCredentials("Email or password is incorrect.")
        return user

    async def active_user(self, user_id: uuid.UUID) -> User:
        async with self.db.session() as session:
            user = await repository.get(session, user_id)
        if user is None or not user.is_active:
            raise AccountDisabled("This account is not active.")
        return user

    async def active_doctor_ids(self) -> list[uuid.UUID]:
        async with self.db.session() as session:
            return await repository.active_ids_of_role(session, Role.DOCTOR.value)

    async def profile(self, principal: Principal) -> User:
        user = await self.active_user(principal.user_id)
        self.audit.record(audited(principal, "read", user))
        return user

    async def update_profile(self, principal: Principal, body: ProfileUpdate) -> User:
        changes = body.model_dump(exclude_unset=True, exclude={"password", "current_password"})
        new_hash = None
        if body.password is not None:
            current = await self.active_user(principal.user_id)
            if body.current_password is None:
                raise CurrentPasswordRequired("Give current_password to set a new password.")
            if not await self.passwords.verify(current.password_hash, body.current_password):
                raise InvalidCredentials("The current password is incorrect.")
            new_hash = await self.passwords.hash(body.password)
        async with self.db.transaction() as session:
            user = await repository.get(session, principal.user_id)
            if user is None or not user.is_active:
                raise AccountDisabled("This account is not active.")
            for field, value in changes.items():
                if field == "full_name" and value is None:
                    continue  # a name can be changed, not removed
                setattr(user, field, value)
            if new_hash is not None:
                user.password_hash = new_hash
                # A changed password ends every session made with the old one.
                await tokens_repository.revoke_all_for_user(session, user.id)
            await session.flush()
            await self.audit.append(session, audited(principal, "update", user))
        return user

    async def view(self, principal: Principal, user_id: uuid.UUID) -> UserView:
        views = await self.view_many(principal, [user_id])
        if user_id not in views:
            raise NotFound("No such user.")
        return views[user_id]

    async def view_many(self, principal: Principal, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, UserView]:
        """The users among `user_ids` that `principal` may see, in one query (plus one care check)."""
        async with self.db.session() as session:
            users = await repository.get_many(session, user_ids)
        in_care: set[uuid.UUID] = set()
        if principal.is_doctor:
            candidates = {uid for uid, user in users.items() if user.role == Role.PATIENT.value}
            if candidates:
                in_care = await self.care.patients_in_care(principal.user_id, candidates)
        views = {}
        for user_id, user in users.items():
            if principal.is_admin or user_id == principal.user_id or user_id in in_care:
                views[user_id] = UserView(user, full=True)
            elif user.role == Role.DOCTOR.value and user.is_active:
                views[user_id] = UserView(user, full=False)
        self.audit.record(
            *(
                audited(principal, "read", views[uid].user)
                if uid in views
                else audit.event(principal, "read", "user", uid, outcome=audit.DENIED)
                for uid in dict.fromkeys(user_ids)
            )
        )
        return views
