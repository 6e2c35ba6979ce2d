"""The `Doctor` entity as this subgraph references it."""
