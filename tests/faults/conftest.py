"""The fault matrix prints its figures after the run: cases, survived, rows lost, rows
duplicated, notes duplicated (every case also asserts them itself).

Each case's rows travel on its test report (`user_properties`), not in a list of this process:
under pytest-xdist the cases run in worker processes and only their reports reach the one that
prints the summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults.harness import MATRIX

_PROPERTY = "fault_matrix"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    start = len(MATRIX)
    yield
    item.user_properties.extend((_PROPERTY, row) for row in MATRIX[start:])


def _matrix_rows(terminalreporter: Any) -> list[dict]:
    return [value for reports in terminalreporter.stats.values() for r in reports
            if getattr(r, "when", None) == "call"
            for name, value in getattr(r, "user_properties", ()) if name == _PROPERTY]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    rows_all = _matrix_rows(terminalreporter)
    if not rows_all:
        return
    tr = terminalreporter
    tr.section("fault matrix")
    by_source: dict[str, list[dict]] = {}
    for row in rows_all:
        by_source.setdefault(row["source"], []).append(row)
    tr.write_line(f"{'source':<12}{'cases':>6}{'survived':>10}{'lost':>6}{'dup':>6}"
                  f"{'notes dup':>11}{'faults':>8}")
    for source, rows in sorted(by_source.items()) + [("all", rows_all)]:
        tr.write_line(f"{source:<12}{len(rows):>6}{sum(r['survived'] for r in rows):>10}"
                      f"{sum(r['rows_lost'] for r in rows):>6}"
                      f"{sum(r['rows_duplicated'] for r in rows):>6}"
                      f"{sum(r['notes_duplicated'] for r in rows):>11}"
                      f"{sum(r['faults_injected'] for r in rows):>8}")
