"""The admin subgraph (:8004): analytics and user management entry points. Owns no tables."""
