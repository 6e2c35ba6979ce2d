"""The original design gives every service the same DATABASE_URL: their tables must not collide."""

from __future__ import annotations

import sqlalchemy as sa

from subgraphs.cli.registry import SUBGRAPHS
from subgraphs.kit.db import sync_url
from subgraphs.kit.migrations import current_revision, head_revision, upgrade


def test_every_service_migrates_into_one_shared_database(backend, request, tmp_path):
    # One empty database, as if DATABASE_URL named the same one for every service.
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/shared.db"
    else:
        url = request.getfixturevalue("postgres_databases").empty("shared")
    owners = [subgraph for subgraph in SUBGRAPHS.values() if subgraph.owns_tables]
    for subgraph in owners:
        upgrade(subgraph.name, subgraph.migrations_dir, url)
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            for subgraph in owners:
                assert current_revision(connection, subgraph.name) == head_revision(subgraph.migrations_dir)
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert {"users", "appointments", "doctor_profiles", "prescriptions"} <= tables
    assert {f"{s.name}_audit_log" for s in owners} <= tables
    assert {"appointments_idempotency_keys", "prescriptions_idempotency_keys"} <= tables
