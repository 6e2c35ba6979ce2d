"""`healthcare schema ...`: each subgraph's SDL exported from code, the supergraph composed, both checked.

- `export`: `schema/<subgraph>.graphql` from code (what `strawberry export-schema` writes).
- `compose`: `schema/supergraph.graphql` from those files with `@apollo/composition` (router/compose.mjs),
  routing URLs from `<NAME>_ROUTING_URL` or `http://127.0.0.1:<port>/graphql`; also
  `router/supergraph.yaml`, the same composition for `rover supergraph compose`. A breaking change
  against the supergraph already there is refused unless `--accept-breaking`.
- `check`: fails on SDL drift, a composition error, a supergraph that differs from a fresh
  composition, or a breaking change against the supergraph of a base git revision (`--base`,
  default HEAD) unless `--accept-breaking`.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    BreakingChange,
    DocumentNode,
    build_ast_schema,
    find_breaking_changes,
    parse,
)
from graphql.language import DirectiveDefinitionNode, SchemaDefinitionNode, TypeDefinitionNode, visit
from graphql.language.visitor import REMOVE, Visitor
from strawberry.printer import print_schema

from .processes import PROJECT_DIR, ROUTER_DIR, ensure_router_packages, node_executable
from .registry import Subgraph

SCHEMA_DIR = Path("schema")
SUPERGRAPH_FILE = "supergraph.graphql"
ROVER_CONFIG = ROUTER_DIR / "supergraph.yaml"
COMPOSE_SCRIPT = ROUTER_DIR / "compose.mjs"
COMPOSE_TIMEOUT_SECONDS = 120
# The federation version the subgraphs declare (docs/architecture.md #8), for rover's config.
FEDERATION_VERSION = "=2.14.4"


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


# --- composition ---------------------------------------------------------------------------


def routing_url(subgraph: Subgraph, host: str = "127.0.0.1", port: int | None = None) -> str:
    """`<NAME>_ROUTING_URL` when set (e.g. `AUTH_ROUTING_URL`), else the subgraph on `host:port`."""
    override = os.environ.get(f"{subgraph.name.upper()}_ROUTING_URL")
    if override and port is None:
        return override
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a listen address, not a URL to call
        host = "127.0.0.1"
    return f"http://{host}:{port or subgraph.port}/graphql"


@dataclass(frozen=True)
class SubgraphSource:
    name: str
    sdl_file: Path
    url: str


class CompositionError(Exception):
    pass


def compose_files(sources: list[SubgraphSource], out: Path, *, install=ensure_router_packages) -> str:
    """Runs router/compose.mjs; returns its messages (hints). Raises CompositionError."""
    node = node_executable()
    if node is None:
        raise CompositionError("composition needs Node.js 20+ on PATH (router/compose.mjs)")
    install(lambda line: print(line, flush=True))
    command = [node, str(COMPOSE_SCRIPT), "--out", str(Path(out).resolve())]
    for source in sources:
        command += ["--subgraph", source.name, str(Path(source.sdl_file).resolve()), source.url]
    try:
        result = subprocess.run(  # noqa: S603 - our script, our arguments
            command, cwd=ROUTER_DIR, capture_output=True, text=True, timeout=COMPOSE_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        raise CompositionError(f"composition took longer than {COMPOSE_TIMEOUT_SECONDS}s") from exc
    if result.returncode != 0:
        raise CompositionError((result.stderr or result.stdout).strip() or f"compose.mjs exited {result.returncode}")
    return result.stderr.strip()


def default_sources(subgraphs: list[Subgraph], directory: Path = SCHEMA_DIR) -> list[SubgraphSource]:
    return [SubgraphSource(s.name, directory / f"{s.name}.graphql", routing_url(s)) for s in subgraphs]


def rover_config(subgraphs: list[Subgraph]) -> str:
    """router/supergraph.yaml: the same composition for `rover supergraph compose --config`."""
    lines = [
        "# Written by `healthcare schema compose` from subgraphs/cli/registry.py: do not edit by hand.",
        "# rover supergraph compose --config router/supergraph.yaml > schema/supergraph.graphql",
        "# (the project itself composes with @apollo/composition: router/compose.mjs)",
        f"federation_version: {FEDERATION_VERSION}",
        "subgraphs:",
    ]
    for subgraph in subgraphs:
        lines += [
            f"  {subgraph.name}:",
            f"    routing_url: {routing_url(subgraph)}",
            "    schema:",
            f"      file: ../schema/{subgraph.name}.graphql",
        ]
    return "\n".join(lines) + "\n"


# --- breaking changes ----------------------------------------------------------------------

_FEDERATION_PREFIXES = ("join__", "link__")
_FEDERATION_DIRECTIVES = {
    "link",
    "inaccessible",
    "tag",
    "authenticated",
    "requiresScopes",
    "policy",
    "cost",
    "listSize",
}


class _ApiSchemaVisitor(Visitor):
    """Turns a supergraph into its API schema: no federation types or directives, no @inaccessible."""

    def enter(self, node, *_args):
        directives = getattr(node, "directives", None)
        if directives and any(d.name.value == "inaccessible" for d in directives):
            return REMOVE
        if isinstance(node, TypeDefinitionNode) and node.name.value.startswith(_FEDERATION_PREFIXES):
            return REMOVE
        if isinstance(node, DirectiveDefinitionNode) and (
            node.name.value.startswith(_FEDERATION_PREFIXES) or node.name.value in _FEDERATION_DIRECTIVES
        ):
            return REMOVE
        if directives and not isinstance(node, SchemaDefinitionNode | DirectiveDefinitionNode):
            kept = tuple(
                d
                for d in directives
                if not d.name.value.startswith(_FEDERATION_PREFIXES) and d.name.value not in _FEDERATION_DIRECTIVES
            )
            if len(kept) != len(directives):
                node = node.__class__(**{**{k: getattr(node, k) for k in node.keys}, "directives": kept})
                return node
        if isinstance(node, SchemaDefinitionNode) and directives:
            return node.__class__(**{**{k: getattr(node, k) for k in node.keys}, "directives": ()})
        return None


def api_schema(supergraph_sdl: str):
    document: DocumentNode = parse(supergraph_sdl)
    return build_ast_schema(visit(document, _ApiSchemaVisitor()), assume_valid_sdl=True)


def breaking_changes(old_supergraph: str, new_supergraph: str) -> list[BreakingChange]:
    return find_breaking_changes(api_schema(old_supergraph), api_schema(new_supergraph))


def describe(changes: list[BreakingChange]) -> list[str]:
    return [f"  {change.type.name}: {change.description}" for change in changes]


def supergraph_at_revision(revision: str, directory: Path = SCHEMA_DIR) -> str | None:
    """The supergraph as committed at `revision`, or None (no git, no such file there)."""
    path = (Path(directory) / SUPERGRAPH_FILE).resolve()
    try:
        relative = path.relative_to(PROJECT_DIR)
    except ValueError:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - read-only git query
            ["git", "show", f"{revision}:{relative.as_posix()}"],  # noqa: S607
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


# --- the commands --------------------------------------------------------------------------


def compose(
    subgraphs: list[Subgraph],
    *,
    accept_breaking: bool = False,
    directory: Path = SCHEMA_DIR,
    rover_path: Path = ROVER_CONFIG,
) -> int:
    target = Path(directory) / SUPERGRAPH_FILE
    with tempfile.TemporaryDirectory(prefix="supergraph-") as tmp:
        candidate = Path(tmp) / SUPERGRAPH_FILE
        try:
            hints = compose_files(default_sources(subgraphs, directory), candidate)
        except CompositionError as exc:
            print(f"composition failed:\n{exc}", flush=True)
            return 1
        new = candidate.read_text()
    if hints:
        print(hints)
    if target.exists():
        changes = breaking_changes(target.read_text(), new)
        if changes:
            print(f"breaking changes against {target}:", *describe(changes), sep="\n")
            if not accept_breaking:
                print("refused: clients may rely on what this removes; rerun with --accept-breaking to write it")
                return 1
            print("accepted (--accept-breaking)")
    unchanged = target.exists() and target.read_text() == new
    target.write_text(new)
    rover_path.write_text(rover_config(subgraphs))
    print(f"{'unchanged' if unchanged else 'wrote'} {target} ({', '.join(s.name for s in subgraphs)})")
    print(f"wrote {rover_path}")
    return 0


def check(
    subgraphs: list[Subgraph],
    *,
    accept_breaking: bool = False,
    base: str = "HEAD",
    directory: Path = SCHEMA_DIR,
    rover_path: Path = ROVER_CONFIG,
) -> int:
    problems = drift(subgraphs, directory)
    for problem in problems:
        print(problem)
    if problems:
        print("schema drift: run `healthcare schema export` and commit the result")
        return 1
    print("schema: every subgraph's SDL matches the code")

    target = Path(directory) / SUPERGRAPH_FILE
    with tempfile.TemporaryDirectory(prefix="supergraph-") as tmp:
        candidate = Path(tmp) / SUPERGRAPH_FILE
        try:
            compose_files(default_sources(subgraphs, directory), candidate)
        except CompositionError as exc:
            print(f"composition failed:\n{exc}")
            return 1
        fresh = candidate.read_text()
    print("supergraph: the subgraphs compose")
    committed = target.read_text() if target.exists() else ""
    if committed != fresh:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            fromfile=f"{target} (committed)",
            tofile=f"{target} (composed now)",
        )
        print("".join(diff) or f"{target} is missing")
        print("supergraph out of date: run `healthcare schema compose` and commit the result")
        return 1
    if not rover_path.exists() or rover_path.read_text() != rover_config(subgraphs):
        print(f"{rover_path} out of date: run `healthcare schema compose`")
        return 1
    print(f"supergraph: {target} matches a fresh composition")

    previous = supergraph_at_revision(base, directory)
    if previous is None:
        print(f"breaking changes: no supergraph at git revision {base}; nothing to compare with")
        return 0
    changes = breaking_changes(previous, committed)
    if not changes:
        print(f"breaking changes: none against {base}")
        return 0
    print(f"breaking changes against {base}:", *describe(changes), sep="\n")
    if accept_breaking:
        print("accepted (--accept-breaking)")
        return 0
    print("refused: rerun with --accept-breaking if every client is ready for them")
    return 1
