"""`altor demo serve`: prints one JSON line first, serves, exits cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

from tests.fixtures.tiny_world import build_tiny_world


def test_serve_prints_urls_and_tokens_then_stops_on_sigterm(tmp_path):
    world = build_tiny_world(tmp_path / "tiny")
    altor = Path(sys.executable).with_name("altor")
    proc = subprocess.Popen([str(altor), "demo", "serve", "--world", str(world),
                             "--as-of", "2026-06-01T12:30:00Z"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()))
        reader.start()
        # deadline for start-up, not a sleep: the CLI's imports alone took over 30 s on the
        # 2 cores when a demo and lab runs shared them with the suite
        reader.join(timeout=120)
        assert line and line[0], proc.stderr.read() if proc.poll() is not None else "no output"
        info = json.loads(line[0])
        assert set(info) == {"zendesk", "stripe", "linear", "github", "as_of"}
        assert info["as_of"] == "2026-06-01T12:30:00Z"
        assert info["linear"]["base_url"].endswith("/graphql")
        z = info["zendesk"]
        r = requests.get(z["base_url"] + "/api/v2/incremental/tickets/cursor",
                         params={"start_time": 0},
                         headers={"Authorization": f"Bearer {z['token']}"}, timeout=10)
        assert [t["id"] for t in r.json()["tickets"]] == [1, 2]
        s = info["stripe"]
        r = requests.get(s["base_url"] + "/v1/customers",
                         headers={"Authorization": f"Bearer {s['token']}"}, timeout=10)
        assert [c["id"] for c in r.json()["data"]] == ["cus_2", "cus_1"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
