"""`altor doctor` against the demo servers and a ClickHouse HTTP front over chDB: a good
configuration passes every check; each kind of wrong one fails the right row, says how to fix
it, and never prints a secret; the command's exit status follows."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from altor_pipelines.operations.doctor import FAIL, OK, run_doctor
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, forget_server_clients
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.servers import start_servers
from tests.fixtures.tiny_world import build_tiny_world

ROOT = Path(__file__).resolve().parents[2]
ALTOR = Path(sys.executable).parent / "altor"
READER, PASSWORD = "reader", "s3cret-reader-pw"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("doctor")
    world = build_tiny_world(tmp / "world")
    chdb = tmp / "chdb"
    embedded = dataclasses.replace(Settings.from_env(), clickhouse_host="", chdb_path=chdb,
                                   clickhouse_database="altor")
    assert load_request_logs(ClickHouseAccess(embedded), world, "altor") > 0
    with start_servers(world) as servers, \
            ClickHouseHttpFront(chdb, users={READER: PASSWORD}) as front:
        env = served_world_environment(servers, world, tmp / "data")
        env.update({"CLICKHOUSE_HOST": "127.0.0.1", "CLICKHOUSE_PORT": str(front.port),
                    "CLICKHOUSE_USER": READER, "CLICKHOUSE_PASSWORD": PASSWORD,
                    "CLICKHOUSE_DATABASE": "altor"})
        yield env


def doctor(env: dict[str, str], **changes: str | None) -> list:
    values = {**env, **{k: v for k, v in changes.items() if v is not None}}
    forget_server_clients()
    with patched_environ(values):
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
        rows = run_doctor(timeout=5)
    secrets = [env[k] for k in ("ZENDESK_TOKEN", "STRIPE_API_KEY", "LINEAR_API_KEY",
                                "GITHUB_TOKEN", "CLICKHOUSE_PASSWORD")]
    secrets += [v for k, v in changes.items() if v and ("TOKEN" in k or "KEY" in k
                                                        or "PASSWORD" in k)]
    text = "\n".join(f"{r.system} {r.check} {r.detail} {r.fix}" for r in rows)
    for secret in secrets:
        assert secret not in text
    return rows


def failures(rows) -> dict[tuple[str, str], str]:
    return {(r.system, r.check): r.fix for r in rows if r.status == FAIL}


def test_a_good_configuration_passes_every_check(deployment):
    rows = doctor(deployment)
    assert not failures(rows), failures(rows)
    passed = {(r.system, r.check) for r in rows if r.status == OK}
    assert {("zendesk", "read tickets"), ("zendesk", "write internal notes"),
            ("zendesk", "root-cause field"), ("stripe", "read invoices"),
            ("stripe", "read subscriptions"), ("linear", "read issues"),
            ("github", "read deployments"), ("clickhouse", "request-log table"),
            ("clickhouse", "token accepted")} <= passed
    field = next(r for r in rows if r.check == "root-cause field")
    assert field.detail.startswith(deployment["ZENDESK_ROOT_CAUSE_FIELD_ID"])


@pytest.mark.parametrize(("changes", "row", "fix_names"), [
    ({"ZENDESK_TOKEN": "wrong-zendesk-token"}, ("zendesk", "token accepted"), "ZENDESK_TOKEN"),
    ({"ZENDESK_TOKEN": None}, ("zendesk", "token"), "ZENDESK_TOKEN"),
    ({"STRIPE_API_KEY": "sk_test_wrong_key"}, ("stripe", "token accepted"), "STRIPE_API_KEY"),
    ({"LINEAR_API_KEY": "lin_api_wrong"}, ("linear", "token accepted"), "LINEAR_API_KEY"),
    ({"GITHUB_TOKEN": "ghs_wrong_token"}, ("github", "token accepted"), "GITHUB_TOKEN"),
    ({"GITHUB_REPO": "acme/other"}, ("github", "read deployments"), "GITHUB_REPO"),
    ({"ZENDESK_ROOT_CAUSE_FIELD_ID": "999"}, ("zendesk", "root-cause field"),
     "ZENDESK_ROOT_CAUSE_FIELD_ID"),
    ({"ZENDESK_ROOT_CAUSE_FIELD_ID": None}, ("zendesk", "root-cause field"),
     "ZENDESK_ROOT_CAUSE_FIELD_ID"),
    ({"CLICKHOUSE_PASSWORD": "wrong-password"}, ("clickhouse", "token accepted"),
     "CLICKHOUSE_PASSWORD"),
    ({"CLICKHOUSE_DATABASE": "elsewhere"}, ("clickhouse", "request-log table"),
     "CLICKHOUSE_DATABASE"),
    ({"CLICKHOUSE_PORT": "abc"}, ("settings", "CLICKHOUSE_PORT"), "CLICKHOUSE_PORT"),
    ({"ALTOR_AS_OF": "not a time"}, ("settings", "ALTOR_AS_OF"), "ALTOR_AS_OF"),
])
def test_each_wrong_setting_fails_its_row(deployment, changes, row, fix_names):
    failed = failures(doctor(deployment, **changes))
    assert row in failed, failed
    assert fix_names in failed[row]
    assert len({system for system, _ in failed}) == 1, failed  # the other systems still pass


def test_an_unreachable_system_is_named(deployment):
    url = f"http://127.0.0.1:{_closed_port()}"
    failed = failures(doctor(deployment, ZENDESK_BASE_URL=url, GITHUB_API_URL=url))
    assert ("zendesk", "reachable") in failed and ("github", "reachable") in failed
    assert "ZENDESK_BASE_URL" in failed[("zendesk", "reachable")]


def test_the_command_exits_1_on_a_failure_and_prints_no_secret(deployment, tmp_path):
    env = {**os.environ, **deployment, "GITHUB_TOKEN": "ghs_wrong_but_secret",
           "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([str(ALTOR), "doctor", "--timeout", "5"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "github" in out and "FAIL" in out and "Traceback" not in out
    for secret in ("ghs_wrong_but_secret", deployment["ZENDESK_TOKEN"], PASSWORD):
        assert secret not in out
