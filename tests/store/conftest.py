"""Every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture
def store_url(any_db_url: str) -> str:
    """Each backend in turn, for the ``store`` and ``other_store`` fixtures."""
    return any_db_url
