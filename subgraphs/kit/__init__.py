"""Building blocks shared by every subgraph. Nothing here knows a domain noun."""
