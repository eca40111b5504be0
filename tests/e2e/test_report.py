"""The HTML report, built from the hand-made help desk, opened in headless Chromium.

The browser is driven over the Chrome DevTools protocol (a small client over `websockets`):
console messages, uncaught exceptions and failed loads are collected while the page loads, then
a full-page screenshot is taken and checked to show charts (not a blank page).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import duckdb
import numpy as np
import pytest
from matplotlib import image as mpimg

from altor_pipelines.reporting import build_report, ensure_diagnoses_table
from tests.fixtures.helpdesk_fixtures import GO_LIVE, create_diagnoses, create_helpdesk_staging

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0", "--window-size=1200,900"]


def _report(tmp_path: Path, with_diagnoses: bool = True) -> Path:
    con = duckdb.connect()
    create_helpdesk_staging(con)
    ensure_diagnoses_table(con)
    if with_diagnoses:
        create_diagnoses(con)
    return build_report(con, tmp_path / "reports" / "report.html", GO_LIVE)


class _Cdp:
    """Just enough of the DevTools protocol: commands with ids, events collected."""

    def __init__(self, ws) -> None:
        self.ws, self.next_id, self.events = ws, 0, []

    async def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(deadline - time.monotonic(), 0.01))
            msg = json.loads(raw)
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    async def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["method"] == method:
                return event
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(deadline - time.monotonic(), 0.01))
            msg = json.loads(raw)
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg


def _devtools_port(profile: Path, proc: subprocess.Popen, timeout: float = 30) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


async def _load_and_capture(port: int, url: str) -> tuple[list[dict], bytes]:
    import websockets

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
        pages = [t for t in json.load(r) if t["type"] == "page"]
    async with websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=2**28) as ws:
        cdp = _Cdp(ws)
        for domain in ("Page", "Runtime", "Log", "Network"):
            await cdp.send(f"{domain}.enable")
        await cdp.send("Page.navigate", {"url": url})
        await cdp.wait_event("Page.loadEventFired")
        metrics = await cdp.send("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        shot = await cdp.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}})
        return cdp.events, base64.b64decode(shot["data"])


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
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield _devtools_port(profile, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
