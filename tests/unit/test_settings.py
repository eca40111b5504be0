"""Settings: a value that cannot be used names its variable in one line (never a traceback,
never the value of a secret), and tokens have no demo fallback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from altor_pipelines.errors import SettingsError
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.duckdb import open_warehouse

ROOT = Path(__file__).resolve().parents[2]
ALTOR = Path(sys.executable).parent / "altor"


@pytest.mark.parametrize(("variable", "value"), [
    ("CLICKHOUSE_PORT", "abc"),
    ("CLICKHOUSE_PORT", "0"),
    ("CLICKHOUSE_PORT", "70000"),
    ("ALTOR_PAGE_SIZE", "ten"),
    ("ALTOR_PAGE_SIZE", "0"),
    ("ALTOR_AS_OF", "yesterday"),
    ("ALTOR_GO_LIVE", "2026-13-01"),
    ("ALTOR_SYNC_START", "soon"),
    ("ZENDESK_ROOT_CAUSE_FIELD_ID", "root_cause"),
    ("CLICKHOUSE_SECURE", "maybe"),
    ("ALTOR_DUCKDB_MEMORY_LIMIT", "lots"),
    ("ZENDESK_BASE_URL", "zendesk.example.com"),
    ("ALTOR_CLICKHOUSE_REREAD_HOURS", "-1"),
    ("ALTOR_CLICKHOUSE_AUDIT_HOURS", "two days"),
    ("ALTOR_LIVE_SYNC_MAX_AGE_MINUTES", "-5"),
])
def test_a_bad_value_names_its_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        Settings.from_env()
    assert info.value.variable == variable
    assert str(info.value).startswith(variable)
    assert value in str(info.value)


def test_good_values_are_read(monkeypatch):
    monkeypatch.setenv("CLICKHOUSE_PORT", "9440")
    monkeypatch.setenv("ALTOR_PAGE_SIZE", "250")
    monkeypatch.setenv("ALTOR_AS_OF", "2026-08-01T00:00:00Z")
    monkeypatch.setenv("CLICKHOUSE_SECURE", "1")
    monkeypatch.setenv("ZENDESK_ROOT_CAUSE_FIELD_ID", "360001")
    s = Settings.from_env()
    assert (s.clickhouse_port, s.page_size, s.as_of) == (9440, 250, "2026-08-01T00:00:00Z")
    assert s.clickhouse_secure is True and s.zendesk_root_cause_field_id == 360001
    assert (s.clickhouse_reread_hours, s.clickhouse_audit_hours) == (3, 48)  # defaults
    monkeypatch.setenv("ALTOR_CLICKHOUSE_REREAD_HOURS", "6")
    monkeypatch.setenv("ALTOR_CLICKHOUSE_AUDIT_HOURS", "0")
    s = Settings.from_env()
    assert (s.clickhouse_reread_hours, s.clickhouse_audit_hours) == (6, 0)


def test_an_unset_token_is_empty_not_the_demo_token(monkeypatch):
    for name in ("ZENDESK_TOKEN", "STRIPE_API_KEY", "LINEAR_API_KEY", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert not s.zendesk_token and not s.stripe_api_key
    assert not s.linear_api_key and not s.github_token


@pytest.mark.parametrize(("variable", "value"), [("CLICKHOUSE_PORT", "abc"),
                                                 ("ALTOR_AS_OF", "not-a-time")])
def test_the_cli_prints_one_line_and_exits_2(tmp_path, variable, value):
    env = {**os.environ, variable: value, "ALTOR_DATA_DIR": str(tmp_path),
           "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    done = subprocess.run([str(ALTOR), "run", "--until", "ingest"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_the_warehouse_opens_within_its_memory_limit(monkeypatch, tmp_path):
    monkeypatch.setenv("ALTOR_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("ALTOR_DUCKDB_MEMORY_LIMIT", "512MB")
    con = open_warehouse(Settings.from_env())
    try:
        # DuckDB reports the limit in MiB: 512 MB
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [
            ("488.2 MiB",)]
    finally:
        con.close()
