from __future__ import annotations

import pytest

from subgraphs.kit.db import async_url, sync_url
from subgraphs.kit.pagination import MAX_LIMIT, PageParams
from subgraphs.kit.ratelimit import MemoryCounter


@pytest.mark.parametrize(
    ("url", "expected_async", "expected_sync"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db", "postgresql+psycopg2://u:p@h:5432/db"),
        ("sqlite:///var/auth.db", "sqlite+aiosqlite:///var/auth.db", "sqlite:///var/auth.db"),
    ],
)
def test_database_urls_get_the_right_drivers(url, expected_async, expected_sync):
    assert async_url(url) == expected_async
    assert sync_url(url) == expected_sync


def test_unsupported_database_is_refused():
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://x@y/z")


@pytest.mark.parametrize(
    ("limit", "offset", "expected"), [(None, None, (50, 0)), (1000, 5, (MAX_LIMIT, 5)), (0, -3, (1, 0))]
)
def test_page_params_cap_and_floor(limit, offset, expected):
    params = PageParams.of(limit, offset)
    assert (params.limit, params.offset) == expected


async def test_memory_counter_counts_within_a_window_and_resets_after():
    now = [1000.0]
    counter = MemoryCounter(clock=lambda: now[0])
    assert (await counter.add("k", 60)).count == 1
    window = await counter.add("k", 60)
    assert window.count == 2 and window.resets_in == 60
    now[0] += 30
    assert (await counter.get("k")).resets_in == 30
    now[0] += 31
    assert (await counter.get("k")).count == 0
    await counter.add("k", 60)
    await counter.clear("k")
    assert (await counter.get("k")).count == 0
