"""This subgraph's share of the admin service's `Analytics`: appointment counts."""
