"""Composition (router/compose.mjs via `healthcare schema compose/check`) and the breaking-change
gate, on small made-up subgraphs in a temporary folder: the project's own subgraphs change under
these tests, these rules do not."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from subgraphs.cli import schema as schema_tools
from subgraphs.cli.processes import ROUTER_DIR, node_executable
from subgraphs.cli.registry import Subgraph

pytestmark = pytest.mark.usefixtures("router_packages")

LINK = '@link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable"])'

USERS = f"""
extend schema {LINK}
type Query {{
  me: User
  user(id: ID!): User
}}
type User @key(fields: "id") {{
  id: ID!
  fullName: String!
  email: String!
}}
"""

VISITS = f"""
extend schema {LINK}
type Query {{
  visits: [Visit!]!
}}
type Visit @key(fields: "id") {{
  id: ID!
  patient: User!
}}
type User @key(fields: "id") {{
  id: ID!
  visits: [Visit!]!
}}
"""

USERS_SUBGRAPH = Subgraph("users", 9101, "UsersSettings")
VISITS_SUBGRAPH = Subgraph("visits", 9102, "VisitsSettings")
SUBGRAPHS = [USERS_SUBGRAPH, VISITS_SUBGRAPH]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """schema/ with two subgraphs' SDL; each subgraph's "code" SDL is its file, as after an export."""
    directory = tmp_path / "schema"
    directory.mkdir()
    (directory / "users.graphql").write_text(USERS)
    (directory / "visits.graphql").write_text(VISITS)
    monkeypatch.setattr(schema_tools, "sdl", lambda subgraph: (directory / f"{subgraph.name}.graphql").read_text())
    # No git history for these files unless a test says so.
    monkeypatch.setattr(schema_tools, "supergraph_at_revision", lambda revision, directory=None: None)
    for name in ("USERS_ROUTING_URL", "VISITS_ROUTING_URL"):
        monkeypatch.delenv(name, raising=False)
    return directory


def compose(workspace: Path, **kwargs) -> int:
    return schema_tools.compose(SUBGRAPHS, directory=workspace, rover_path=workspace / "supergraph.yaml", **kwargs)


def check(workspace: Path, **kwargs) -> int:
    return schema_tools.check(SUBGRAPHS, directory=workspace, rover_path=workspace / "supergraph.yaml", **kwargs)


def edit(workspace: Path, name: str, old: str, new: str) -> None:
    path = workspace / f"{name}.graphql"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# --- composing ------------------------------------------------------------------------------


def test_compose_writes_a_supergraph_with_both_subgraphs_and_their_routing_urls(workspace):
    assert compose(workspace) == 0

    supergraph = (workspace / "supergraph.graphql").read_text()
    assert 'USERS @join__graph(name: "users", url: "http://127.0.0.1:9101/graphql")' in supergraph
    assert 'VISITS @join__graph(name: "visits", url: "http://127.0.0.1:9102/graphql")' in supergraph
    api = schema_tools.api_schema(supergraph)
    assert set(api.get_type("User").fields) == {"id", "fullName", "email", "visits"}
    assert "join__Graph" not in api.type_map


def test_routing_urls_come_from_the_environment_when_set(workspace, monkeypatch):
    monkeypatch.setenv("USERS_ROUTING_URL", "http://users.internal:8080/graphql")

    assert compose(workspace) == 0

    supergraph = (workspace / "supergraph.graphql").read_text()
    assert 'url: "http://users.internal:8080/graphql"' in supergraph
    assert "routing_url: http://users.internal:8080/graphql" in (workspace / "supergraph.yaml").read_text()


def test_a_composition_error_is_reported_and_nothing_is_written(workspace, capsys):
    # Two subgraphs resolving the same non-shareable field cannot compose.
    edit(workspace, "visits", "  visits: [Visit!]!\n}", "  visits: [Visit!]!\n  fullName: String!\n}")

    assert compose(workspace) == 1

    assert "INVALID_FIELD_SHARING" in capsys.readouterr().out
    assert not (workspace / "supergraph.graphql").exists()


def test_invalid_sdl_is_a_composition_error(workspace):
    (workspace / "users.graphql").write_text("type Query { me: }")

    with pytest.raises(schema_tools.CompositionError, match="not valid GraphQL"):
        schema_tools.compose_files(schema_tools.default_sources(SUBGRAPHS, workspace), workspace / "out.graphql")


def test_compose_refuses_a_breaking_change_unless_accepted(workspace, capsys):
    assert compose(workspace) == 0
    before = (workspace / "supergraph.graphql").read_text()
    edit(workspace, "users", "  email: String!\n", "")

    assert compose(workspace) == 1
    out = capsys.readouterr().out
    assert "FIELD_REMOVED: Field User.email was removed." in out
    assert (workspace / "supergraph.graphql").read_text() == before

    assert compose(workspace, accept_breaking=True) == 0
    assert "email" not in (workspace / "supergraph.graphql").read_text()


def test_compose_accepts_an_additive_change(workspace):
    assert compose(workspace) == 0
    edit(workspace, "users", "  email: String!\n", "  email: String!\n  phone: String\n")

    assert compose(workspace) == 0

    assert "phone: String" in (workspace / "supergraph.graphql").read_text()


def test_rover_config_names_every_subgraph_with_its_schema_file(workspace):
    assert compose(workspace) == 0

    text = (workspace / "supergraph.yaml").read_text()
    assert "federation_version: =2.14.4" in text
    assert (
        "  users:\n    routing_url: http://127.0.0.1:9101/graphql\n    schema:\n      file: ../schema/users.graphql"
        in text
    )
    assert "  visits:\n" in text


def test_compose_script_reads_rover_config_like_its_arguments(workspace, tmp_path):
    config = tmp_path / "rover.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            federation_version: =2.14.4
            subgraphs:
              users:
                routing_url: http://127.0.0.1:9101/graphql
                schema:
                  file: {workspace / "users.graphql"}
              visits:
                routing_url: http://127.0.0.1:9102/graphql
                schema:
                  file: {workspace / "visits.graphql"}
            """
        )
    )
    from_config = tmp_path / "a.graphql"
    from_arguments = tmp_path / "b.graphql"

    subprocess.run(  # noqa: S603
        [node_executable(), "compose.mjs", "--config", str(config), "--out", str(from_config)],
        cwd=ROUTER_DIR,
        check=True,
        capture_output=True,
        timeout=120,
    )
    schema_tools.compose_files(schema_tools.default_sources(SUBGRAPHS, workspace), from_arguments)

    assert from_config.read_text() == from_arguments.read_text()


def test_compose_script_usage_errors_exit_2():
    completed = subprocess.run(  # noqa: S603
        [node_executable(), "compose.mjs", "--subgraph", "users"],
        cwd=ROUTER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert "usage:" in completed.stderr


# --- checking -------------------------------------------------------------------------------


def test_check_passes_on_a_fresh_composition(workspace):
    assert compose(workspace) == 0

    assert check(workspace) == 0


def test_check_fails_when_the_sdl_drifts_from_the_code(workspace, monkeypatch, capsys):
    assert compose(workspace) == 0
    monkeypatch.setattr(
        schema_tools, "sdl", lambda subgraph: USERS + "\n# changed\n" if subgraph.name == "users" else VISITS
    )

    assert check(workspace) == 1
    assert "schema drift" in capsys.readouterr().out


def test_check_fails_when_the_subgraphs_do_not_compose(workspace, capsys):
    assert compose(workspace) == 0
    edit(workspace, "visits", "  patient: User!\n", "  patient: Patient!\n")

    assert check(workspace) == 1
    assert "composition failed" in capsys.readouterr().out


def test_check_fails_when_the_committed_supergraph_is_stale(workspace, capsys):
    assert compose(workspace) == 0
    edit(workspace, "users", "  email: String!\n", "  email: String!\n  phone: String\n")

    assert check(workspace) == 1
    out = capsys.readouterr().out
    assert "supergraph out of date" in out
    assert "+  phone: String" in out


def test_check_fails_when_the_rover_config_is_stale(workspace, capsys):
    assert compose(workspace) == 0
    (workspace / "supergraph.yaml").write_text("subgraphs: {}\n")

    assert check(workspace) == 1
    assert "out of date" in capsys.readouterr().out


def test_check_fails_on_a_breaking_change_against_the_base_revision_unless_accepted(workspace, monkeypatch, capsys):
    assert compose(workspace) == 0
    base = (workspace / "supergraph.graphql").read_text()
    edit(workspace, "visits", 'type User @key(fields: "id") {\n  id: ID!\n  visits: [Visit!]!\n}\n', "")
    edit(workspace, "visits", "  patient: User!\n", "")
    assert compose(workspace, accept_breaking=True) == 0
    monkeypatch.setattr(schema_tools, "supergraph_at_revision", lambda revision, directory=None: base)

    assert check(workspace) == 1
    out = capsys.readouterr().out
    assert "FIELD_REMOVED: Field User.visits was removed." in out
    assert "FIELD_REMOVED: Field Visit.patient was removed." in out

    assert check(workspace, accept_breaking=True) == 0


def test_the_committed_supergraph_of_this_project_is_read_from_git():
    # The real lookup (no monkeypatch): HEAD may or may not have a supergraph yet, but the
    # answer is text or None, never an exception, and an unknown revision is None.
    text = schema_tools.supergraph_at_revision("HEAD")
    assert text is None or "join__Graph" in text
    assert schema_tools.supergraph_at_revision("no-such-revision-0123456789") is None


# --- what counts as breaking ----------------------------------------------------------------


def supergraph_of(tmp_path: Path, users_sdl: str, name: str) -> str:
    (tmp_path / f"{name}-users.graphql").write_text(users_sdl)
    (tmp_path / f"{name}-visits.graphql").write_text(VISITS)
    out = tmp_path / f"{name}.graphql"
    schema_tools.compose_files(
        [
            schema_tools.SubgraphSource("users", tmp_path / f"{name}-users.graphql", "http://127.0.0.1:9101/graphql"),
            schema_tools.SubgraphSource("visits", tmp_path / f"{name}-visits.graphql", "http://127.0.0.1:9102/graphql"),
        ],
        out,
    )
    return out.read_text()


def test_breaking_changes_are_those_of_the_api_schema(tmp_path):
    old = supergraph_of(tmp_path, USERS, "old")
    optional_argument = supergraph_of(tmp_path, USERS.replace("me: User", "me(asOf: String): User"), "a")
    required_argument = supergraph_of(tmp_path, USERS.replace("me: User", "me(asOf: String!): User"), "b")
    nullable = supergraph_of(tmp_path, USERS.replace("fullName: String!", "fullName: String"), "c")

    assert schema_tools.breaking_changes(old, old) == []
    assert schema_tools.breaking_changes(old, optional_argument) == []
    assert [c.type.name for c in schema_tools.breaking_changes(old, required_argument)] == ["REQUIRED_ARG_ADDED"]
    assert [c.type.name for c in schema_tools.breaking_changes(old, nullable)] == ["FIELD_CHANGED_KIND"]


def test_moving_a_field_between_subgraphs_or_adding_a_subgraph_is_not_breaking(tmp_path):
    old = supergraph_of(tmp_path, USERS, "old")
    with_inaccessible = supergraph_of(
        tmp_path,
        USERS.replace('import: ["@key", "@shareable"]', 'import: ["@key", "@shareable", "@inaccessible"]').replace(
            "email: String!", "email: String!\n  internalNote: String @inaccessible"
        ),
        "d",
    )

    assert "internalNote: String @inaccessible" in with_inaccessible
    # join__ types and directives change; the API does not.
    assert schema_tools.breaking_changes(old, with_inaccessible) == []
    assert "internalNote" not in schema_tools.api_schema(with_inaccessible).get_type("User").fields
    # ... and removing an @inaccessible field is not breaking either.
    assert schema_tools.breaking_changes(with_inaccessible, old) == []
