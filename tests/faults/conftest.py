"""The fault matrix prints its figures after the run: cases, survived, rows lost, rows
duplicated, notes duplicated (every case also asserts them itself)."""

from __future__ import annotations

from typing import Any

from tests.faults.harness import MATRIX


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MATRIX:
        return
    tr = terminalreporter
    tr.section("fault matrix")
    by_source: dict[str, list[dict]] = {}
    for row in MATRIX:
        by_source.setdefault(row["source"], []).append(row)
    tr.write_line(f"{'source':<12}{'cases':>6}{'survived':>10}{'lost':>6}{'dup':>6}"
                  f"{'notes dup':>11}{'faults':>8}")
    for source, rows in sorted(by_source.items()):
        tr.write_line(f"{source:<12}{len(rows):>6}{sum(r['survived'] for r in rows):>10}"
                      f"{sum(r['rows_lost'] for r in rows):>6}"
                      f"{sum(r['rows_duplicated'] for r in rows):>6}"
                      f"{sum(r['notes_duplicated'] for r in rows):>11}"
                      f"{sum(r['faults_injected'] for r in rows):>8}")
    tr.write_line(f"{'all':<12}{len(MATRIX):>6}{sum(r['survived'] for r in MATRIX):>10}"
                  f"{sum(r['rows_lost'] for r in MATRIX):>6}"
                  f"{sum(r['rows_duplicated'] for r in MATRIX):>6}"
                  f"{sum(r['notes_duplicated'] for r in MATRIX):>11}"
                  f"{sum(r['faults_injected'] for r in MATRIX):>8}")
