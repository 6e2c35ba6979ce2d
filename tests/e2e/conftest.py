from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pytest

from .stack import HIVE, ROUTERS, Stack, new_stack, require_router_packages


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """Every subgraph of the registry, the echo subgraph and both routers (Hive Gateway at
    `router_url`, Apollo Gateway at `apollo_url`), shared by the session's tests that leave it as
    they found it."""
    require_router_packages()
    running = new_stack(tmp_path_factory.mktemp("stack"))
    try:
        running.start(routers=ROUTERS)
        yield running
    finally:
        running.stop()


@pytest.fixture
def make_stack(tmp_path) -> Iterator[Callable[..., Stack]]:
    """A stack of one's own, for tests that break it (kill a subgraph, ...) or need other subgraph
    settings (`make(ACCOUNT_RECHECK_SECONDS="3600")`)."""
    require_router_packages()
    started: list[Stack] = []

    def make(names: list[str] | None = None, routers: Iterable[str] = (HIVE,), **subgraph_env: str) -> Stack:
        stack = new_stack(tmp_path / f"stack{len(started)}")
        stack.subgraph_overrides.update(subgraph_env)
        stack.directory.mkdir()
        started.append(stack)
        return stack.start(names, routers)

    try:
        yield make
    finally:
        for stack in started:
            stack.stop()


@pytest.fixture(params=ROUTERS)
def router(request) -> str:
    """Each router in turn (HIVE, APOLLO): a test that takes it runs through both, and compares
    nothing between them (test_router_equality.py does). `HIVE_ONLY` narrows it to Hive Gateway."""
    return request.param
