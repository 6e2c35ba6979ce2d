from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Tables of the auth subgraph; no other subgraph maps them."""
