"""The GraphQL explorer the router serves in development works with no internet access.

A real headless Chromium (Debian's `chromium`) loads http://ROUTER/graphql while every request
to anything but the router is refused, then runs a query through the explorer's own UI.
Driven by tests/e2e/explorer.mjs with playwright-core (no browser download: Debian's is used).
Hive Gateway only: the explorer is its page; Apollo Gateway serves none (docs/pitfalls.md #13).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from subgraphs.cli.processes import NODE_MODULES, ROUTER_DIR, node_executable

from .stack import Stack, in_ci

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).with_name("explorer.mjs")
BROWSER_TIMEOUT_SECONDS = 240


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "no chromium on this machine (Debian: apt-get install -y chromium); the explorer test needs one"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def test_the_explorer_loads_offline_and_runs_a_query(stack: Stack):
    browser = chromium()
    assert (NODE_MODULES / "playwright-core").is_dir(), "playwright-core missing: npm ci --prefix router"
    query = "{ __typename me { id fullName } }"

    completed = subprocess.run(  # noqa: S603 - our script
        [node_executable(), str(SCRIPT), f"{stack.router_url}/graphql", query],
        env={**os.environ, "ROUTER_DIR": str(ROUTER_DIR), "CHROMIUM": browser},
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_SECONDS,
    )

    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert completed.returncode == 0 and lines, f"{completed.stdout}\n{completed.stderr}"
    result = json.loads(lines[-1])
    context = json.dumps(result, indent=1)[:4000] + "\n" + stack.router.tail(20)
    assert "error" not in result, context
    assert result["loaded"], context
    # Nothing outside the router was asked for: the page is self-contained.
    assert result["external"] == [], context
    assert result["pageErrors"] == [], context
    # The explorer fetched the schema itself (introspection), then sent our query ...
    assert any("IntrospectionQuery" in body for body in result["posted"]), context
    # ... which went through the router to the auth subgraph and back, and is on screen.
    assert result["response"]["data"] == {"__typename": "Query", "me": None}, context
    assert result["response"]["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "serviceName": "auth"}
    assert result["shown"], context
