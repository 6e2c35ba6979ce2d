from sqlalchemy.orm import DeclarativeBase

from subgraphs.kit.idempotency import idempotency_table


class Base(DeclarativeBase):
    """Tables of the appointments subgraph; no other subgraph maps them."""


# `Idempotency-Key` records of POST /appointments, kept next to the rows they created.
idempotency_keys = idempotency_table(Base.metadata, "appointments")
