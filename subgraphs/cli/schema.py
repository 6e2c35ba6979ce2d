"""`healthcare schema ...`: each subgraph's SDL exported from code, and checked for drift."""

from __future__ import annotations

import difflib
from pathlib import Path

from strawberry.printer import print_schema

from .registry import Subgraph

SCHEMA_DIR = Path("schema")


def sdl(subgraph: Subgraph) -> str:
    # The same text `strawberry export-schema` writes and `_service { sdl }` serves.
    return print_schema(subgraph.schema()) + "\n"


def export(subgraphs: list[Subgraph], directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for subgraph in subgraphs:
        path = directory / f"{subgraph.name}.graphql"
        path.write_text(sdl(subgraph))
        written.append(path)
    return written


def drift(subgraphs: list[Subgraph], directory: Path = SCHEMA_DIR) -> list[str]:
    """A unified diff per subgraph whose committed SDL differs from the code's."""
    problems = []
    for subgraph in subgraphs:
        path = directory / f"{subgraph.name}.graphql"
        committed = path.read_text() if path.exists() else ""
        current = sdl(subgraph)
        if committed != current:
            diff = difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile=f"{path} (committed)",
                tofile=f"{path} (from code)",
            )
            problems.append("".join(diff) or f"{path} is missing")
    return problems
