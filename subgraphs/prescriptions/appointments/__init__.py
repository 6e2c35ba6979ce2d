"""The appointment service as this subgraph sees it: a remote it asks over HTTP, an entity it extends."""
