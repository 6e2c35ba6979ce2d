"""The auth subgraph (:8001): users, passwords, tokens, keys. Owns the `User` entity."""
