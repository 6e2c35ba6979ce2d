"""`Idempotency-Key`: a write runs at most once per key, and a repeat gets its first response.

A key belongs to an owner (the caller) and a scope (the operation), so two
callers' keys never collide. The key is claimed by inserting its row *before*
the write runs, in the write's own transaction:

- on PostgreSQL a concurrent request with the same key blocks on the row's
  primary key until the first commits, then fails, re-reads and replays;
- on SQLite writes are serialized (`BEGIN IMMEDIATE`), so it simply finds the row.

Business-rule failures (`AppError`) are answers too: they are stored and
replayed, so a client retrying after a 409 sees the same 409. Anything
unexpected rolls back the claim with the write, and the key may be used again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database, UTCDateTime, utcnow
from .errors import AppError, Conflict, UnprocessableRule
from .problem import problem_document

# Printable ASCII without spaces: what clients put in the header (UUIDs, ULIDs, hashes).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
DEFAULT_TTL = timedelta(hours=24)


class IdempotencyKeyReused(UnprocessableRule):
    code = "IDEMPOTENCY_KEY_REUSED"
    title = "Idempotency key already used for another request"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any  # JSON-ready
    replayed: bool = False


Write = Callable[[AsyncSession], Awaitable[StoredResponse]]


def fingerprint(payload: Any) -> str:
    """A digest of a request's meaning: the same JSON in any key order gives the same digest."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_table(metadata: MetaData, service: str) -> Table:
    """The table a service keeps its keys in: `<service>_idempotency_keys`, so that services
    sharing one database (the original design's single DATABASE_URL) never collide."""
    name = f"{service}_idempotency_keys"
    return Table(
        name,
        metadata,
        Column("scope", String(100), primary_key=True),
        Column("owner", String(64), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        # Null only inside the claiming transaction, so never seen by anyone else.
        Column("status", Integer),
        Column("body", JSON),
        Column("created_at", UTCDateTime, nullable=False),
    )


def create_idempotency_table(op, service: str) -> None:
    """For a service's Alembic migration."""
    idempotency_table(MetaData(), service).create(op.get_bind())


class _ClaimedConcurrently(Exception):
    """Another transaction inserted the same key first; re-read it."""


class IdempotentWrites:
    def __init__(
        self,
        db: Database,
        table: Table,
        *,
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.table = table
        self.ttl = ttl
        self.clock = clock

    async def run(self, *, scope: str, owner: str, key: str, fingerprint: str, write: Write) -> StoredResponse:
        """The stored response for this key, running `write` first if the key is new.

        Raises the `AppError` the write raised the first time it runs; replays
        return it as a `StoredResponse` with its problem document.
        """
        # A lost race means the winner committed its row: the next attempt replays
        # it. The third covers a winner that rolled back and freed the key again.
        for _ in range(3):
            try:
                return await self._attempt(scope, owner, key, fingerprint, write)
            except _ClaimedConcurrently:
                continue
        raise Conflict("The request with this idempotency key is still being processed.")

    async def _attempt(self, scope: str, owner: str, key: str, digest: str, write: Write) -> StoredResponse:
        where = (self.table.c.scope == scope, self.table.c.owner == owner, self.table.c.key == key)
        failure: AppError | None = None
        async with self.db.transaction() as session:
            row = (await session.execute(select(self.table).where(*where))).mappings().first()
            if row is not None and row["created_at"] > self.clock() - self.ttl:
                if row["fingerprint"] != digest:
                    raise IdempotencyKeyReused("This idempotency key was used with another request body.")
                return StoredResponse(row["status"], row["body"], replayed=True)
            if row is not None:
                await session.execute(delete(self.table).where(*where))
            try:
                await session.execute(
                    insert(self.table).values(
                        scope=scope, owner=owner, key=key, fingerprint=digest, created_at=self.clock()
                    )
                )
            except IntegrityError as exc:
                raise _ClaimedConcurrently from exc
            try:
                # A savepoint, so a refused write leaves the claim in place to record the refusal.
                async with session.begin_nested():
                    response = await write(session)
            except AppError as exc:
                failure = exc
                body = problem_document(exc.status, exc.code, exc.title, exc.detail, **exc.extensions)
                response = StoredResponse(exc.status, body)
            await session.execute(update(self.table).where(*where).values(status=response.status, body=response.body))
        if failure is not None:
            raise failure
        return response
