"""The HTML report, built from the hand-made help desk, opened in headless Chromium.

The browser is driven over the Chrome DevTools protocol (tests/e2e/chromium.py):
console messages, uncaught exceptions and failed loads are collected while the page loads, then
a full-page screenshot is taken and checked to show charts (not a blank page).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest
from matplotlib import image as mpimg

from altor_pipelines.reporting import build_report, ensure_diagnoses_table
from tests.e2e.chromium import CHROMIUM, chromium, page
from tests.fixtures.helpdesk_fixtures import GO_LIVE, create_diagnoses, create_helpdesk_staging


def _report(tmp_path: Path, with_diagnoses: bool = True) -> Path:
    con = duckdb.connect()
    create_helpdesk_staging(con)
    ensure_diagnoses_table(con)
    if with_diagnoses:
        create_diagnoses(con)
    return build_report(con, tmp_path / "reports" / "report.html", GO_LIVE)


async def _load_and_capture(port: int, url: str) -> tuple[list[dict], bytes]:
    async with page(port) as cdp:
        await cdp.send("Page.navigate", {"url": url})
        await cdp.wait_event("Page.loadEventFired")
        return cdp.events, await cdp.screenshot()


def _problems(events: list[dict]) -> list[str]:
    problems = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append(f"console.{p['type']}: {p.get('args')}")
        elif e["method"] == "Runtime.exceptionThrown":
            problems.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
            problems.append(f"log: {p['entry'].get('text')}")
        elif e["method"] == "Network.loadingFailed":
            problems.append(f"load failed: {p.get('errorText')}")
        elif e["method"] == "Network.requestWillBeSent" and not p["request"]["url"].startswith(
                ("file:", "data:", "about:")):
            problems.append(f"network request: {p['request']['url']}")
    return problems


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/ensure_chromium.sh installs it)")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as port:
        yield port


@pytest.mark.parametrize("with_diagnoses", [True, False], ids=["diagnoses", "no-diagnoses"])
def test_report_loads_without_errors_and_renders_charts(
    browser: int, tmp_path: Path, with_diagnoses: bool
) -> None:
    report = _report(tmp_path, with_diagnoses)
    events, png = asyncio.run(_load_and_capture(browser, report.as_uri()))
    assert _problems(events) == []
    shot = tmp_path / "report.png"
    shot.write_bytes(png)
    pixels = mpimg.imread(shot)[..., :3]
    height, width = pixels.shape[:2]
    assert width >= 1000 and height >= 1500, (width, height)  # the whole page, all sections
    assert float(pixels.std()) > 0.05  # not blank
    # the charts draw in colour: the go-live period's blue and the causes' orange are present
    blue = (np.abs(pixels - np.array([0x25, 0x63, 0xEB]) / 255).max(axis=-1) < 0.05).mean()
    orange = (np.abs(pixels - np.array([0xF5, 0x9E, 0x0B]) / 255).max(axis=-1) < 0.05).mean()
    assert blue > 0.002 and orange > 0.001, (blue, orange)


def test_report_is_self_contained_and_deterministic(tmp_path: Path) -> None:
    first = _report(tmp_path / "a").read_text()
    second = _report(tmp_path / "b").read_text()
    assert first == second
    assert "<script" not in first and "<link" not in first
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", first)
    assert first.count("<svg") == 4
    for figure in ("Escalation rate", "First-contact resolution", "Investigation time",
                   "Escalations by cause", "Agreement per diagnosed cause", "95% CI"):
        assert figure in first
    no_diagnoses = _report(tmp_path / "c", with_diagnoses=False).read_text()
    assert "No diagnoses in the warehouse yet." in no_diagnoses
    assert no_diagnoses.count("<svg") == 3
