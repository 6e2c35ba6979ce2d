"""`User` is owned by the auth subgraph; this subgraph only adds fields to it."""
