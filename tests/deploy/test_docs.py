"""docs/deployment.md names files and image versions: they must be the real ones."""

from __future__ import annotations

import re

from .helpers import ROOT, load_yaml

DOC = (ROOT / "docs" / "deployment.md").read_text()
TOP_LEVEL = ("deploy/", "router/", "schema/", "subgraphs/", "tests/", "docs/")


def test_every_file_the_guide_names_exists():
    named = set()
    for token in re.findall(r"`([^`\s]+)`", DOC):
        path = token.rstrip(",.:")
        if path.startswith(TOP_LEVEL) or path in ("compose.yaml", "Dockerfile", ".dockerignore"):
            named.add(path.split(":")[0])

    assert len(named) >= 15
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, missing


def test_the_guide_names_the_images_compose_runs():
    services = load_yaml(ROOT / "compose.yaml")["services"]

    for name in ("db", "router", "api-gateway"):
        assert f"`{services[name]['image']}" in DOC, services[name]["image"]
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)
    assert f"`{base}`" in DOC
