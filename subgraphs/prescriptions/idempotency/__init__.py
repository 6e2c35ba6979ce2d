"""`Idempotency-Key` for POST /prescriptions: the kit's idempotent writes, plus a replay looked up first."""
