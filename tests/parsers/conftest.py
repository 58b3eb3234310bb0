"""Parser tests: pure, no database (every module here is marked `db_free`).

`samples/` holds byte-for-byte copies of the shared real-output samples (../shared/samples,
sources in samples/README.md); keep them unedited.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).parent / "samples"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db_free: pure test that never touches the database")


@pytest.fixture
def sample_text():
    def read(name: str) -> str:
        return (SAMPLES / name).read_text(encoding="utf-8")

    return read
