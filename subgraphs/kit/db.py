"""Async SQLAlchemy engine and sessions, on SQLite (aiosqlite) or PostgreSQL (asyncpg).

Services open their own transactions through `Database.transaction()` (writes) and
`Database.session()` (reads), so a GraphQL mutation that fails rolls back exactly
like a REST route that fails: no dependency has to see the exception.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from .errors import DependencyUnavailable

log = logging.getLogger(__name__)

# Seconds to wait for a new PostgreSQL connection; asyncpg's own default (60 s) would hold a
# request that long when the database host does not answer at all.
CONNECT_TIMEOUT_SECONDS = 5


def async_url(url: str) -> str:
    """`postgresql://` -> asyncpg, `sqlite://` -> aiosqlite; explicit drivers pass through."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database: {backend}")


def sync_url(url: str) -> str:
    """The same database for synchronous tools (migrations, CLI): psycopg2 or sqlite3."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"postgresql": "postgresql+psycopg2", "sqlite": "sqlite"}.get(backend)
    if driver is None:
        raise ValueError(f"unsupported database: {backend}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; store UTC with an offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite's default (deferred) transactions take the write lock only at the
    # first write, and a second writer then fails instead of waiting. Writes
    # therefore begin IMMEDIATE: they queue on the lock (busy_timeout) and a
    # check-then-insert inside one is serialized against every other writer.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class DatabaseUnavailable(DependencyUnavailable):
    """The database could not be reached, or the connection broke mid-request: 503, try again.

    Same `code` as any other unavailable dependency (the API's contract); the log line says which.
    """

    title = "The database is unavailable"


# SQLSTATE classes that mean "no usable connection", not "this statement is wrong":
# 08 connection exception, 53 insufficient resources (too many connections), 57 operator
# intervention (admin shutdown, crash, cannot connect now, database dropped); 3D000: no such database.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
# SQLite's: the file is locked past busy_timeout, cannot be opened or read, or the disk is full.
_UNAVAILABLE_SQLITE_ERRORS = frozenset(
    {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL"}
)


# PostgreSQL chose this transaction as a deadlock's victim and rolled it back.
DEADLOCK_DETECTED = "40P01"


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (asyncpg calls it `sqlstate`, psycopg2 `pgcode`)."""
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be used right now (rather than a bad statement)."""
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give within pool_timeout
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or error.statement is None:  # dropped, or failed to connect
            return True
        if getattr(error.orig, "sqlite_errorname", None) in _UNAVAILABLE_SQLITE_ERRORS:
            return True
        state = sqlstate(error)
        return state is not None and (state[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or state == "3D000")
    # Raised by the driver itself while connecting: refused, unreachable, timed out.
    return isinstance(error, OSError)


@asynccontextmanager
async def _unavailable_as_503(description: str) -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("database unavailable", extra={"during": description, "error": type(exc).__name__})
        raise DatabaseUnavailable("The service's database is unavailable; try again shortly.", retry_after=1) from exc


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = is_sqlite(url)
        ensure_sqlite_dir(url)
        # pool_pre_ping: a connection the server dropped while it sat in the pool (a restart,
        # pg_terminate_backend, an idle timeout) is replaced at checkout, so that request succeeds.
        # hide_parameters: bound values (patient data) stay out of error messages and logs.
        options: dict = {"echo": echo, "pool_pre_ping": True, "hide_parameters": True}
        if not self.is_sqlite:
            options.update(
                pool_size=pool_size, max_overflow=pool_size, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS}
            )
        self.engine = create_async_engine(async_url(url), **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            reader = self.engine
        else:
            writer = self.engine
            # Reads run without BEGIN/COMMIT on PostgreSQL: two round trips fewer per read session
            # (docs/performance.md). Nothing is lost: under READ COMMITTED every statement takes
            # its own snapshot inside a transaction too, and `session()` never writes. SQLite keeps
            # its read transaction (there it does hold one snapshot for the whole unit of work).
            reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader = async_sessionmaker(reader, expire_on_commit=False)
        self._writer = async_sessionmaker(writer, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work. A database that cannot be reached is `DatabaseUnavailable` (503)."""
        async with _unavailable_as_503("read"), self._reader() as session, session.begin():
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on success, rolled back on any exception.

        A connection lost before the commit is `DatabaseUnavailable` (503): the transaction did
        not commit, so the client may retry. (Lost *during* the COMMIT, the outcome is unknown
        to us as to any client; an `Idempotency-Key` makes that retry safe.)
        """
        async with _unavailable_as_503("write"), self._writer() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def execute_outside_transaction(url: str, *statements: str, connect_timeout: int = 10) -> None:
    """Run `statements` on PostgreSQL one by one with autocommit: CREATE and DROP DATABASE refuse
    to run inside a transaction. For tools (the benchmark, tests), not for request paths."""
    import psycopg2

    libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg2.connect(libpq_url, connect_timeout=connect_timeout)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()
