from __future__ import annotations

import pytest

from .live import LiveSystem


@pytest.fixture
def live(database_for, tmp_path):
    """The four services in process, on a loop of their own (see live.py)."""
    system = LiveSystem(database_for, tmp_path)
    try:
        yield system
    finally:
        system.close()
