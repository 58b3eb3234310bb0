"""Parser tests: pure, no database (every module here is marked `db_free`).

Samples of real tool output come from tests/samples/.
"""

from __future__ import annotations

import pytest

from tests.samples import read_sample


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db_free: pure test that never touches the database")


@pytest.fixture
def sample_text():
    return read_sample
