"""Headless Chromium for the browser tests, driven over the Chrome DevTools protocol.

A small client over `websockets`: commands with ids, events collected while a page loads, the
page's text, full-page screenshots. `scripts/ensure_chromium.sh` installs Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0", "--window-size=1200,900"]


class Cdp:
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

    async def evaluate(self, expression: str) -> object:
        result = await self.send("Runtime.evaluate",
                                 {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    async def screenshot(self, full_page: bool = True) -> bytes:
        params: dict = {"format": "png"}
        if full_page:
            size = (await self.send("Page.getLayoutMetrics"))["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"],
                                "height": size["height"], "scale": 1}}
        shot = await self.send("Page.captureScreenshot", params)
        return base64.b64decode(shot["data"])


def devtools_port(profile: Path, proc: subprocess.Popen, timeout: float = 30) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}")
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


@contextmanager
def chromium(profile: Path, extra_flags: list[str] | None = None) -> Iterator[int]:
    """A headless Chromium with a fresh profile in `profile`; yields its DevTools port."""
    proc = subprocess.Popen([CHROMIUM, *FLAGS, *(extra_flags or []),
                             f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield devtools_port(profile, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@asynccontextmanager
async def page(port: int, domains: tuple[str, ...] = ("Page", "Runtime", "Log", "Network")
               ) -> AsyncIterator[Cdp]:
    """The browser's first tab, with `domains` enabled."""
    import websockets

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
        pages = [t for t in json.load(r) if t["type"] == "page"]
    async with websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=2**28) as ws:
        cdp = Cdp(ws)
        for domain in domains:
            await cdp.send(f"{domain}.enable")
        yield cdp
