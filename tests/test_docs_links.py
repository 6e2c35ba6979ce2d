"""The repository documents itself: no citation of notes kept outside it, no broken links in its docs.

The API contract, the architecture decisions and the pitfalls live in docs/ (api-contract.md,
architecture.md, pitfalls.md). A clone holds nothing else, so a comment or doc naming a document
from outside the repository points at nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THIS_FILE = Path(__file__).resolve()

SCANNED_SUFFIXES = {".py", ".md", ".ts", ".mjs", ".yaml", ".yml", ".toml", ".sh"}
SKIPPED_DIRS = {".git", ".venv", "node_modules", "var", "__pycache__", ".pytest_cache", ".ruff_cache", "build"}

# Case-sensitive on purpose: the outside notes were cited in capitals ("API.md", "PITFALLS #7"),
# the docs that replace them are lower case (docs/api-contract.md, docs/pitfalls.md).
OUTSIDE_CITATION = re.compile(r"\bAPI\.md\b|\bARCHITECTURE\.md\b|\bPITFALLS\b|shared/design")

FENCED_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
MARKDOWN_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
EXTERNAL = ("http://", "https://", "mailto:")


def scanned_files(root: Path) -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS and not name.endswith(".egg-info")]
        found.extend(Path(directory) / name for name in files if Path(name).suffix in SCANNED_SUFFIXES)
    return sorted(found)


def outside_citations(root: Path, skip: Path | None = None) -> list[str]:
    hits = []
    for path in scanned_files(root):
        if path == skip:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE_CITATION.search(line):
                hits.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return hits


def relative_link_targets(markdown: str) -> list[str]:
    """Targets of `[text](target)` links outside code, without their `#anchor`; external ones left out."""
    prose = INLINE_CODE.sub("", FENCED_BLOCK.sub("", markdown))
    targets = []
    for target in MARKDOWN_LINK.findall(prose):
        if target.startswith(EXTERNAL) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def broken_links(documents: list[Path], root: Path) -> list[str]:
    broken = []
    for document in documents:
        for target in relative_link_targets(document.read_text(encoding="utf-8")):
            if not (document.parent / target).exists():
                broken.append(f"{document.relative_to(root)} -> {target}")
    return broken


def project_documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_no_file_cites_notes_kept_outside_the_repository():
    assert len(scanned_files(ROOT)) > 100  # the walk reached the sources, not an empty tree

    assert outside_citations(ROOT, skip=THIS_FILE) == []


def test_every_relative_link_in_the_readme_and_docs_points_at_a_file():
    documents = project_documents()
    assert len(documents) >= 10
    assert sum(len(relative_link_targets(d.read_text(encoding="utf-8"))) for d in documents) >= 20

    assert broken_links(documents, ROOT) == []


def test_the_readme_lists_the_contract_the_decisions_and_the_pitfalls():
    readme_targets = relative_link_targets((ROOT / "README.md").read_text(encoding="utf-8"))

    for document in ("docs/api-contract.md", "docs/architecture.md", "docs/pitfalls.md"):
        assert document in readme_targets
        assert (ROOT / document).is_file()


def test_the_scan_finds_an_outside_citation_and_ignores_skipped_directories(tmp_path: Path):
    (tmp_path / "service.py").write_text("# rules as in API.md\nx = 1\n")
    (tmp_path / "gateway.ts").write_text("// merged requests (PITFALLS #7)\n")
    (tmp_path / "fine.md").write_text("See docs/pitfalls.md #7 and docs/api-contract.md.\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "dep.md").write_text("ARCHITECTURE.md\n")

    hits = outside_citations(tmp_path)

    assert hits == ["gateway.ts:1: // merged requests (PITFALLS #7)", "service.py:1: # rules as in API.md"]


def test_a_link_to_a_missing_file_is_reported_and_code_or_external_links_are_not(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("# Here\n")
    document = tmp_path / "README.md"
    document.write_text(
        "[ok](docs/here.md#here) [gone](docs/gone.md) [web](https://example.org/x.md) [top](#top)\n"
        "`[in code](docs/nothing.md)`\n"
        "```\n[in a block](docs/none.md)\n```\n"
    )

    assert broken_links([document], tmp_path) == ["README.md -> docs/gone.md"]
