"""The `User` entity as this subgraph extends it."""
