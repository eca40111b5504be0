"""Shared fixtures. Everything a test needs is built here, small, in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.matrix import write_summary
from tests.fixtures.tiny_world import build_tiny_world

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # here, not in tests/faults/conftest.py: under pytest-xdist the printing process collects
    # no test, so only this file's hooks run in it (tests/faults/matrix.py)
    write_summary(terminalreporter)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-written world of tests/fixtures/tiny_world.py (read-only for tests)."""
    return build_tiny_world(tmp_path_factory.mktemp("tiny_world"))
