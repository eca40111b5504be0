"""The fault matrix's summary: cases, survived, rows lost, rows duplicated, notes duplicated per
source (every case also asserts them itself).

Each case's rows travel on its test report (`user_properties`, put there by
tests/faults/conftest.py): under pytest-xdist the cases run in worker processes, and only their
reports reach the process that prints the summary, which never collects tests/faults itself
(so the summary hook lives in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

PROPERTY = "fault_matrix"


def matrix_rows(terminalreporter: Any) -> list[dict]:
    # the call report only: a test's teardown report carries the same user_properties again
    return [value for reports in terminalreporter.stats.values() for r in reports
            if getattr(r, "when", None) == "call"
            for name, value in getattr(r, "user_properties", ()) if name == PROPERTY]


def write_summary(terminalreporter: Any) -> None:
    rows_all = matrix_rows(terminalreporter)
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
