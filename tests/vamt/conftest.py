"""Fixtures of the VAMT-area tests (WMI agent reports, CIL import, offline activation)."""

from tests.inventory.conftest import _locmem_cache, agent_headers, frozen  # noqa: F401
