from __future__ import annotations

from collections.abc import Iterator

import pytest

from subgraphs.cli import registry

from ..e2e.stack import Stack, new_stack, require_router_packages


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory) -> Iterator[Stack]:
    """The four services as real processes (`healthcare serve NAME --port N`, SQLite files in a
    temporary folder, cheap password hashing), and the router in front of them: the e2e tests'
    Hive Gateway (tests/e2e/stack.py), which like the Apollo Router of compose.yaml serves
    /graphql. `stack.router_problem` says why there is no router (no Node.js here), else None.

    The router believes the X-Forwarded-For of 127.0.0.1, where the edge under test runs."""
    stack = new_stack(tmp_path_factory.mktemp("deploy-stack"))
    stack.router_problem = None
    try:
        stack.start_subgraphs(list(registry.SUBGRAPHS))
        try:
            require_router_packages()
        except pytest.skip.Exception as exc:
            stack.router_problem = str(exc)
        else:
            stack.compose()
            _router, stack.router_url = stack.start_router(TRUSTED_PROXIES="127.0.0.1")
        yield stack
    finally:
        stack.stop()
