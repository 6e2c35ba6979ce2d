"""Replays answered before the appointment service is asked.

Issuing asks the appointment service over HTTP *before* the write transaction
opens (a network call must not hold a database write lock). A repeated request
must still get its first response, even when the appointment has changed since
or the appointment service is down, so the stored response is looked up first.
"""

from __future__ import annotations

from subgraphs.kit.idempotency import IdempotencyKeyReused, IdempotentWrites, StoredResponse

from . import repository


class ReplayableWrites(IdempotentWrites):
    async def replay(self, *, scope: str, owner: str, key: str, fingerprint: str) -> StoredResponse | None:
        """The first response to this key, or None when the key is new (or expired)."""
        async with self.db.session() as session:
            row = await repository.find(session, self.table, scope, owner, key)
        # A row without a status is still being written (only its own transaction can see it).
        if row is None or row["status"] is None or row["created_at"] <= self.clock() - self.ttl:
            return None
        if row["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused("This idempotency key was used with another request body.")
        return StoredResponse(row["status"], row["body"], replayed=True)
