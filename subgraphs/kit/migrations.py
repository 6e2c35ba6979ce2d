"""Alembic migrations, one history per subgraph, each with its own version table.

Each subgraph keeps its own version table so that several services may share
one PostgreSQL database (as in the original design) without their histories
colliding. On PostgreSQL an advisory lock keeps replicas starting together from
migrating at once.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Connection

from .db import ensure_sqlite_dir, sync_url


def alembic_config(service: str, migrations_dir: Path, url: str, metadata: MetaData | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    config.attributes["version_table"] = version_table(service)
    config.attributes["target_metadata"] = metadata
    return config


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def upgrade(service: str, migrations_dir: Path, url: str) -> None:
    ensure_sqlite_dir(url)
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            lock = _advisory_lock(connection, service)
            config = alembic_config(service, migrations_dir, url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if lock is not None:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock})
    finally:
        engine.dispose()


def _advisory_lock(connection: Connection, service: str) -> int | None:
    if connection.dialect.name != "postgresql":
        return None
    key = zlib.crc32(f"healthcare-migrate-{service}".encode())
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    return key


def head_revision(migrations_dir: Path) -> str | None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(connection: Connection, service: str) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": version_table(service)})
    return context.get_current_revision()


def run_env() -> None:
    """Body of every subgraph's `migrations/env.py`."""
    from alembic import context

    config = context.config
    options = {
        "target_metadata": config.attributes.get("target_metadata"),
        "version_table": config.attributes["version_table"],
        "render_as_batch": True,  # SQLite alters tables by copying them
    }
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic needs either a connection or sqlalchemy.url in its config")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
