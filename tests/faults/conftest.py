"""Each fault case's figures go onto its test report, for the summary tests/faults/matrix.py
prints at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import MATRIX
from tests.faults.matrix import PROPERTY


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    start = len(MATRIX)
    yield
    item.user_properties.extend((PROPERTY, row) for row in MATRIX[start:])
