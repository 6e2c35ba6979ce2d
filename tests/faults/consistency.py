"""What a fault must not leave behind, read straight from a service's PostgreSQL database."""

from __future__ import annotations

import psycopg2


def rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def terminate_connections(url: str) -> int:
    """Cuts every connection the service holds to its database (what a failover or a restart of
    PostgreSQL does to its clients); returns how many were cut."""
    name = url.rsplit("/", 1)[-1]
    cut = rows(
        url,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    return int(cut[0][0])


def _exists(url: str, table: str) -> bool:
    return rows(url, "SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",))[0][0]


def audited(url: str, service: str, resource_type: str) -> set[str]:
    """Ids of records whose creation is in the service's audit trail (the kit's hash-chained
    `<service>_audit_log`, or the first per-service `audit_events` table where it still exists)."""
    found: set[str] = set()
    if _exists(url, f"{service}_audit_log"):
        found |= {
            str(row[0])
            for row in rows(
                url,
                f'SELECT resource_id FROM "{service}_audit_log" '  # noqa: S608 - a known table name
                "WHERE resource_type = %s AND action = 'create' AND outcome = 'allowed'",
                (resource_type,),
            )
        }
    if _exists(url, "audit_events"):
        found |= {
            str(row[0]) for row in rows(url, "SELECT entity_id FROM audit_events WHERE entity = %s", (resource_type,))
        }
    return found


def idempotency_statuses(url: str, service: str) -> dict[str, int | None]:
    """Each stored `Idempotency-Key` and the status stored with it (None: claimed, never answered)."""
    table = next(name for name in (f"{service}_idempotency_keys", "idempotency_keys") if _exists(url, name))
    return dict(rows(url, f'SELECT key, status FROM "{table}"'))  # noqa: S608 - a known table name
