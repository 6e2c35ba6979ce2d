from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..system import System, in_process_system


@pytest.fixture
async def system(database_for, tmp_path) -> AsyncIterator[System]:
    """The four services in one process, on the test's backend (SQLite and PostgreSQL)."""
    async with in_process_system(database_for, tmp_path) as running:
        yield running


class Scrape:
    """One `/metrics` answer, parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
        )

    def label_values(self, name: str, label: str) -> set[str]:
        return {sample.labels[label] for sample in self.samples if sample.name == name and label in sample.labels}


async def scrape(client) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)
