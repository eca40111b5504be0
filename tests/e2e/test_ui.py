"""`make ui` on a fresh DAGSTER_HOME: the UI answers, and the asset lineage renders in headless
Chromium with every stage's group. The screenshot goes to tests/.artifacts/ui_lineage.png;
start-up time and memory (RSS of the whole process tree) to tests/.artifacts/ui_metrics.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.chromium import CHROMIUM, chromium, page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / ".artifacts"
GROUPS = ("ingest", "staging", "features", "metrics")
LOCATION = "altor_pipelines.definitions"

pytestmark = pytest.mark.slow


def _sigint_as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base}/graphql", body,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.load(r)


def tree_rss_bytes(pgid: int) -> int:
    """Resident memory of every process in process group `pgid` (the UI and its children)."""
    total, page_size = 0, os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid:  # field 5 of stat: the process group
                total += int((entry / "statm").read_text().split()[1]) * page_size
        except (OSError, ValueError, IndexError):
            continue
    return total


class Ui:
    def __init__(self, proc: subprocess.Popen, base: str, log: Path) -> None:
        self.proc, self.base, self.log = proc, base, log
        self.seconds_to_answer = self.seconds_to_load = 0.0

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait(self, deadline_s: float = 240) -> None:
        """Poll (no sleeps as waits: a deadline) until the webserver answers and the code
        location is loaded."""
        t0 = time.monotonic()
        deadline = t0 + deadline_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the UI exited:\n{self.log_tail()}"
            try:
                with urllib.request.urlopen(f"{self.base}/server_info", timeout=2):
                    break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail(f"the UI did not answer in {deadline_s} s:\n{self.log_tail()}")
        self.seconds_to_answer = time.monotonic() - t0
        query = """{ workspaceOrError { ... on Workspace { locationEntries {
                      name loadStatus locationOrLoadError { __typename
                        ... on PythonError { message } } } } } }"""
        while time.monotonic() < deadline:
            entries = _graphql(self.base, query)["data"]["workspaceOrError"]["locationEntries"]
            entry = next((e for e in entries if e["name"] == LOCATION), None)
            if entry and entry["loadStatus"] == "LOADED":
                error = entry["locationOrLoadError"]
                assert error["__typename"] == "RepositoryLocation", error
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the code location did not load:\n{self.log_tail()}")
        self.seconds_to_load = time.monotonic() - t0

    def stop(self) -> None:
        """SIGTERM to the whole process group (dagster dev, webserver, daemon, code server)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    home = tmp_path_factory.mktemp("dagster_home")  # fresh: ui.sh copies deploy/dagster.yaml
    data = tmp_path_factory.mktemp("data")
    port = _free_port()
    log = home / "ui.log"
    env = {**os.environ, "DAGSTER_HOME": str(home), "ALTOR_DATA_DIR": str(data),
           "ALTOR_UI_PORT": str(port), "ALTOR_UI_HOST": "127.0.0.1"}
    with log.open("wb") as out:
        # A session of its own: its process group can be signalled as a whole (like `set -m`).
        # SIGINT as a terminal's shell has it: a run started in the background (nohup, `&`)
        # inherits it ignored, and bash cannot trap a signal ignored on entry
        proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "ui.sh")], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_sigint_as_at_a_terminal)
    server = Ui(proc, f"http://127.0.0.1:{port}", log)
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def test_ui_starts_with_the_projects_instance_settings(ui: Ui) -> None:
    home = ui.log.parent
    assert (home / "dagster.yaml").read_text() == (ROOT / "deploy" / "dagster.yaml").read_text()
    schedules = _graphql(ui.base, """query ($repo: RepositorySelector!) {
        schedulesOrError(repositorySelector: $repo) {
        ... on Schedules { results { name scheduleState { status } } } } }""",
        {"repo": {"repositoryName": "__repository__", "repositoryLocationName": LOCATION}})
    results = schedules["data"]["schedulesOrError"]["results"]
    assert {r["name"] for r in results} >= {"ingest_zendesk_schedule", "ingest_stripe_schedule"}
    # opening the UI reads; nothing runs until a person starts it
    assert {r["scheduleState"]["status"] for r in results} == {"STOPPED"}


def test_lineage_renders_every_stage_group(ui: Ui, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/ensure_chromium.sh installs it)")
    rss = tree_rss_bytes(ui.proc.pid)
    seen = _graphql(ui.base, "mutation { setNuxSeen }")  # the "Join the community" pop-up
    assert "errors" not in seen, seen
    url = f"{ui.base}/asset-groups"  # the global lineage: one box per group, edges between
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def visit() -> tuple[str, bytes]:
        async with page(port) as cdp:
            await cdp.send("Emulation.setDeviceMetricsOverride", {
                "width": 1600, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
            await cdp.send("Page.navigate", {"url": url})
            await cdp.wait_event("Page.loadEventFired", timeout=60)
            deadline, text = time.monotonic() + 60, ""
            while time.monotonic() < deadline:
                text = await cdp.evaluate("document.body ? document.body.textContent : ''") or ""
                lower = text.lower()
                # every group box drawn, and their asset statuses fetched
                if all(g in lower for g in GROUPS) and "fetching statuses" not in lower:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # let the graph's layout settle before the picture
            return text, await cdp.screenshot(full_page=False)

    with chromium(tmp_path / "profile") as port:
        text, png = asyncio.run(visit())
    shot = ARTIFACTS / "ui_lineage.png"
    shot.write_bytes(png)
    lower = text.lower()
    missing = [g for g in GROUPS if g not in lower]
    assert not missing, f"groups {missing} not in the page; screenshot {shot}"
    assert "join the community" not in lower
    assert "materialize all" in lower  # the graph's toolbar: the explorer itself rendered
    metrics = {"seconds_to_answer": round(ui.seconds_to_answer, 1),
               "seconds_to_load_code_location": round(ui.seconds_to_load, 1),
               "rss_mib_process_tree": round(rss / 2**20),
               "screenshot": str(shot.relative_to(ROOT))}
    (ARTIFACTS / "ui_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(metrics)


def _process_tree(root: int) -> set[int]:
    """`root` and every process descended from it (by parent pid), as /proc shows now."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, todo = {root}, [root]
    while todo:
        parent = todo.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                todo.append(pid)
    return tree


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has ended; only its entry is left


def test_ctrl_c_stops_every_process_it_started(ui: Ui) -> None:
    """Last in this module (it stops the UI): Ctrl-C, i.e. SIGINT to the foreground process
    group, ends ui.sh, `dagster dev`, its webserver, daemon and code servers within seconds."""
    tree = _process_tree(ui.proc.pid)
    assert len(tree) >= 4, f"expected ui.sh, dagster dev, webserver and daemon: {tree}"
    os.killpg(ui.proc.pid, signal.SIGINT)
    ui.proc.wait(timeout=60)  # a deadline, generous for a loaded 2-core CI machine
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in tree):
        time.sleep(0.2)
    left = sorted(p for p in tree if _running(p))
    assert not left, f"still running after Ctrl-C: {left}\n{ui.log_tail()}"
