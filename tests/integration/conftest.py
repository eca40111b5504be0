"""Fixtures of the vendor-server tests: each module builds its own `world_dir`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from altor_sim.servers import start_servers


@pytest.fixture(scope="module")
def servers(world_dir) -> Iterator[Any]:
    """The four vendor servers over the module's world, for all of its tests."""
    with start_servers(world_dir) as s:
        yield s
