"""An append-only, hash-chained audit trail: who touched which record, allowed or denied.

Each service keeps its own trail in its own database (`<service>_audit_log`).
Every row holds the SHA-256 of the previous row's hash and its own content, so
changing or removing a row breaks the chain at that point and
`healthcare audit verify` names it. On PostgreSQL a trigger refuses UPDATE,
DELETE and TRUNCATE on the table, so the service itself cannot rewrite history.

Writes are audited inside the transaction that makes them (`append`): no change
without its event. Reads are queued (`record`) and written in batches by a
background task, in a separate connection pool, so a read stays a read; a
crash can lose at most the last `flush_interval` of read events, never a write's.
What is recorded: time, actor id and role, action, resource type and id, the
patient the record belongs to, the outcome, the request id. Never tokens,
passwords or clinical text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Integer, MetaData, String, Table, Uuid, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database, UTCDateTime, utcnow
from .logging import request_id_var
from .principal import Principal

log = logging.getLogger(__name__)

# Outcomes. `denied`: the caller may not see or do this (401, 403, 404: the record is
# not theirs). `refused`: allowed to try, but a rule said no (409, 422, 429). `failed`: the
# service could not answer (5xx, a dependency down); nothing was decided.
ALLOWED = "allowed"
DENIED = "denied"
REFUSED = "refused"
FAILED = "failed"
GENESIS = "0" * 64


def audit_table_name(service: str) -> str:
    return f"{service}_audit_log"


def audit_table(service: str, metadata: MetaData) -> Table:
    return Table(
        audit_table_name(service),
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("occurred_at", UTCDateTime, nullable=False),
        Column("actor_id", Uuid, index=True),
        Column("actor_role", String(16)),
        Column("action", String(32), nullable=False),
        Column("resource_type", String(32), nullable=False),
        Column("resource_id", String(64)),
        Column("patient_id", Uuid, index=True),
        Column("outcome", String(16), nullable=False),
        Column("request_id", String(128)),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )


@dataclass(frozen=True, slots=True)
class AuditEvent:
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: uuid.UUID | None
    outcome: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    request_id: str | None
    occurred_at: datetime = field(default_factory=utcnow)


def event(
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: Any = None,
    patient_id: uuid.UUID | None = None,
    outcome: str = ALLOWED,
) -> AuditEvent:
    return AuditEvent(
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id)[:64],
        patient_id=patient_id,
        outcome=outcome,
        actor_id=principal.user_id if principal else None,
        actor_role=principal.role.value if principal else None,
        request_id=request_id_var.get(),
    )


def about_record(
    resource_type: str,
    principal: Principal | None,
    action: str,
    record: Any = None,
    *,
    resource_id: Any = None,
    patient_id: uuid.UUID | None = None,
    outcome: str = ALLOWED,
) -> AuditEvent:
    """An event about a patient's record (anything with `id` and `patient_id`): its patient is the
    one the record belongs to. Without a record (it does not exist, or was not read), the ids given."""
    if record is not None:
        resource_id, patient_id = record.id, record.patient_id
    return event(principal, action, resource_type, resource_id, patient_id, outcome)


def reads_of_ids(
    resource_type: str, principal: Principal | None, ids: list, found: dict, visible: dict
) -> list[AuditEvent]:
    """One event per id asked for: `allowed` for those returned, `denied` for the others, about the
    record's real patient when it exists (so that patient sees the attempt)."""
    return [
        about_record(resource_type, principal, "read", visible[key])
        if key in visible
        else about_record(
            resource_type,
            principal,
            "read",
            resource_id=key,
            patient_id=found[key].patient_id if key in found else None,
            outcome=DENIED,
        )
        for key in ids
    ]


def outcome_for(error: Exception) -> str:
    """The outcome an error stands for (see the constants above)."""
    status = getattr(error, "status", 500)
    if status in (401, 403, 404):
        return DENIED
    return REFUSED if status < 500 else FAILED


def _digest(prev_hash: str, row: dict[str, Any]) -> str:
    content = {key: (None if value is None else str(value)) for key, value in row.items()}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


# What the hash covers: every column but the chain's own.
CONTENT_KEYS = (
    "occurred_at",
    "actor_id",
    "actor_role",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "outcome",
    "request_id",
)


def _content(item: AuditEvent) -> dict[str, Any]:
    content = {key: getattr(item, key) for key in CONTENT_KEYS}
    content["occurred_at"] = item.occurred_at.isoformat()
    return content


class AuditTrail:
    def __init__(self, service: str, db: Database, *, flush_interval: float = 0.2, max_batch: int = 1000) -> None:
        self.service = service
        self.table = audit_table(service, MetaData())
        self._lock_key = zlib.crc32(f"audit-{service}".encode())
        self._db = db
        # Reads are written through their own pool, so they never sit in a request's transaction.
        self._writer = Database(db.url, pool_size=2)
        self._queue: list[AuditEvent] = []
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._task: asyncio.Task | None = None
        self._flushing = asyncio.Lock()

    # -- recording -------------------------------------------------------
    async def append(self, session: AsyncSession, *events: AuditEvent) -> None:
        """Writes events in the caller's transaction: they commit or roll back with the change."""
        await self._write(session, events)

    def record(self, *events: AuditEvent) -> None:
        """Queues read events; the background task writes them within `flush_interval`."""
        self._queue.extend(events)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def flush(self) -> None:
        """Writes every queued event now (tests, shutdown)."""
        async with self._flushing:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                try:
                    async with self._writer.transaction() as session:
                        await self._write(session, batch)
                except Exception:
                    log.exception("audit events could not be written; keeping them queued")
                    self._queue[:0] = batch
                    raise

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
        if self._task is not None:
            self._task.cancel()
        await self._writer.dispose()

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._flush_interval)
        with contextlib.suppress(Exception):  # logged in flush; retried on the next record
            await self.flush()

    async def _write(self, session: AsyncSession, events) -> None:
        if not events:
            return
        if session.get_bind().dialect.name == "postgresql":
            # One writer at a time per trail, so each row links to the true last one.
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key})
        prev = await session.scalar(select(self.table.c.hash).order_by(self.table.c.seq.desc()).limit(1)) or GENESIS
        rows = []
        for item in events:
            content = _content(item)
            digest = _digest(prev, content)
            rows.append({**content, "occurred_at": item.occurred_at, "prev_hash": prev, "hash": digest})
            prev = digest
        await session.execute(insert(self.table), rows)

    # -- reading ---------------------------------------------------------
    async def search(
        self, *, patient_id: uuid.UUID | None = None, actor_id: uuid.UUID | None = None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        from sqlalchemy import func

        statement = select(self.table)
        if patient_id is not None:
            statement = statement.where(self.table.c.patient_id == patient_id)
        if actor_id is not None:
            statement = statement.where(self.table.c.actor_id == actor_id)
        async with self._db.session() as session:
            total = await session.scalar(select(func.count()).select_from(statement.subquery()))
            rows = await session.execute(statement.order_by(self.table.c.seq.desc()).limit(limit).offset(offset))
            return [dict(row._mapping) for row in rows], total or 0


def verify_chain(connection: Connection, service: str) -> tuple[int, int | None]:
    """(rows checked, seq of the first row that breaks the chain, or None when it holds)."""
    table = audit_table(service, MetaData())
    prev = GENESIS
    checked = 0
    for row in connection.execute(select(table).order_by(table.c.seq)).mappings():
        content = {key: row[key] for key in CONTENT_KEYS}
        content["occurred_at"] = row["occurred_at"].isoformat()
        if row["prev_hash"] != prev or _digest(prev, content) != row["hash"]:
            return checked, row["seq"]
        prev = row["hash"]
        checked += 1
    return checked, None


def append_sync(connection: Connection, service: str, events: list[AuditEvent]) -> None:
    """Chains `events` onto a trail from a synchronous connection (migrations carrying older events over)."""
    if not events:
        return
    table = audit_table(service, MetaData())
    prev = connection.execute(select(table.c.hash).order_by(table.c.seq.desc()).limit(1)).scalar() or GENESIS
    rows = []
    for item in events:
        content = _content(item)
        digest = _digest(prev, content)
        rows.append({**content, "occurred_at": item.occurred_at, "prev_hash": prev, "hash": digest})
        prev = digest
    connection.execute(insert(table), rows)


# -- migrations ----------------------------------------------------------
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def create_audit_log(op, service: str) -> None:
    """For a service's Alembic migration: the table, and on PostgreSQL the append-only triggers."""
    table = audit_table(service, MetaData())
    table.create(op.get_bind())  # with its indexes
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table.name}_no_change BEFORE UPDATE OR DELETE ON {table.name} "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table.name}_no_truncate BEFORE TRUNCATE ON {table.name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


# What the first per-service trails called their actions ("appointment.booked"), in the kit's words.
_LEGACY_ACTIONS = {"booked": "create", "issued": "create", "created": "create", "updated": "update"}


def recreate_legacy_events_table(op, legacy: str = "audit_events") -> None:
    """The downgrade of `carry_over_legacy_events`: the first, unchained table comes back empty
    (the chained events stay readable only in the trail, which the caller then drops)."""
    import sqlalchemy as sa

    op.create_table(
        legacy,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index(f"ix_{legacy}_actor_id", legacy, ["actor_id"])
    op.create_index(f"ix_{legacy}_entity_id", legacy, ["entity_id"])


def carry_over_legacy_events(op, service: str, patient_tables: dict[str, str], legacy: str = "audit_events") -> int:
    """For a migration replacing a service's first, unchained `audit_events` table by the kit's trail.

    Its rows are chained onto the trail, oldest first, then the table is dropped.
    `patient_tables` names, per entity, the table (with `id` and `patient_id`) that
    tells whose record it was. Returns how many events were carried over.
    """
    connection = op.get_bind()
    old = Table(
        legacy,
        MetaData(),
        Column("id", Uuid),
        Column("at", UTCDateTime),
        Column("actor_id", Uuid),
        Column("action", String),
        Column("entity", String),
        Column("entity_id", Uuid),
    )
    events = []
    for row in connection.execute(select(old).order_by(old.c.at, old.c.id)).mappings():
        patient_id = None
        if row["entity"] in patient_tables:
            owner = Table(patient_tables[row["entity"]], MetaData(), Column("id", Uuid), Column("patient_id", Uuid))
            patient_id = connection.execute(select(owner.c.patient_id).where(owner.c.id == row["entity_id"])).scalar()
        verb = row["action"].rsplit(".", 1)[-1]
        events.append(
            AuditEvent(
                action=_LEGACY_ACTIONS.get(verb, verb)[:32],
                resource_type=row["entity"][:32],
                resource_id=str(row["entity_id"]),
                patient_id=patient_id,
                outcome=ALLOWED,
                actor_id=row["actor_id"],
                actor_role=None,
                request_id=None,
                occurred_at=row["at"],
            )
        )
    append_sync(connection, service, events)
    op.drop_table(legacy)  # its indexes go with it
    return len(events)
