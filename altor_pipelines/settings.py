"""Every setting of the project, read from the environment, with demo defaults.

Nothing here does I/O: `Settings.from_env()` only reads `os.environ`. Secrets are wrapped in
`Secret` so that printing a settings object, an error or a log line never shows them.

A value that cannot be used (`CLICKHOUSE_PORT=abc`, `ALTOR_PAGE_SIZE=0`, an unparsable
`ALTOR_AS_OF`) raises `SettingsError` naming the variable, never its value when it is a secret.
Tokens have no default: the demo sets its own (altor_sim/environment.py), and a
deployment that forgot one gets an empty token, which `altor doctor` names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from altor_pipelines.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Secret:
    """A string that never prints. Call `.reveal()` at the one place that sends it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _int(name: str, default: str, *, minimum: int | None = None,
         maximum: int | None = None) -> int:
    raw = _env(name, default)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(name, f"must be at most {maximum}, got {value}")
    return value


def _bool(name: str, default: str) -> bool:
    raw = _env(name, default).lower()
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise SettingsError(name, f"must be true or false, got {raw!r}")


def _fraction(name: str, default: str) -> float:
    raw = _env(name, default)
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"must be a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise SettingsError(name, f"must be between 0 and 1, got {value}")
    return value


def _time(name: str) -> str:
    """An ISO 8601 time (UTC when it has no offset), kept as written; empty stays empty."""
    raw = _env(name, "")
    if raw:
        try:
            datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise SettingsError(
                name, f"must be an ISO 8601 time such as 2026-08-01T00:00:00Z, got {raw!r}"
            ) from None
    return raw


_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _memory(name: str) -> str:
    raw = _env(name, "").strip()
    if raw and not _MEMORY.match(raw):
        raise SettingsError(name, f"must be an amount of memory such as 4GB, got {raw!r}")
    return raw


def _url(name: str, default: str) -> str:
    raw = _env(name, default)
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(name, f"must be an http(s) URL, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_path: Path
    dlt_pipelines_dir: Path
    models_dir: Path
    reports_dir: Path
    # ClickHouse: a server when `clickhouse_host` is set, else the embedded engine (chDB) at
    # `chdb_path`. Both go through clickhouse_connect.get_client, so one code path serves both.
    clickhouse_host: str
    clickhouse_port: int
    clickhouse_user: str
    clickhouse_password: Secret
    clickhouse_database: str
    clickhouse_secure: bool
    chdb_path: Path
    zendesk_base_url: str
    zendesk_email: str
    zendesk_token: Secret
    zendesk_root_cause_field_id: int | None
    stripe_api_base: str
    stripe_api_key: Secret
    linear_api_url: str
    linear_api_key: Secret
    linear_workspace: str
    github_api_url: str
    github_token: Secret
    github_repo: str
    # The clock of the demo world. Empty in production: "now".
    as_of: str
    # Where a first sync starts (ISO time). Empty: a year before the clock.
    sync_start: str
    # When automated diagnoses started (splits before/after in the metrics). Empty: not yet.
    go_live: str
    page_size: int = field(default=100)
    # The triage model must deliver at least this share of tickets (the rest abstain and
    # escalate); under it, training and `altor eval` warn and the diagnoses' check fails.
    min_delivered_share: float = field(default=0.5)
    # Request logs: each sync re-reads the last hours loaded (rows up to this late are
    # counted), and checks older hours loaded within the audit window for late rows.
    clickhouse_reread_hours: int = field(default=3)
    clickhouse_audit_hours: int = field(default=48)
    # The live path skips a source's sync while its change mark is unchanged
    # (sources/change_marks.py), but never for longer than this; 0 syncs every source each cycle.
    live_sync_max_age_minutes: int = field(default=360)
    # DuckDB's memory for the warehouse (e.g. "4GB"); past it, large operators spill to
    # `<warehouse>.tmp`. Empty: DuckDB's default, 80% of the machine's memory.
    duckdb_memory_limit: str = field(default="")

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("ALTOR_DATA_DIR", str(PROJECT_ROOT / "data"))).resolve()
        field_id = _env("ZENDESK_ROOT_CAUSE_FIELD_ID", "")
        if field_id:
            field_id = _int("ZENDESK_ROOT_CAUSE_FIELD_ID", field_id, minimum=1)
        return cls(
            data_dir=data_dir,
            warehouse_path=Path(_env("ALTOR_WAREHOUSE_PATH", str(data_dir / "warehouse.duckdb"))),
            dlt_pipelines_dir=Path(_env("ALTOR_DLT_DIR", str(data_dir / "dlt"))),
            models_dir=Path(_env("ALTOR_MODELS_DIR", str(PROJECT_ROOT / "models"))),
            reports_dir=Path(_env("ALTOR_REPORTS_DIR", str(PROJECT_ROOT / "reports"))),
            clickhouse_host=_env("CLICKHOUSE_HOST", ""),
            clickhouse_port=_int("CLICKHOUSE_PORT", "8123", minimum=1, maximum=65535),
            clickhouse_user=_env("CLICKHOUSE_USER", "default"),
            clickhouse_password=Secret(_env("CLICKHOUSE_PASSWORD", "")),
            clickhouse_database=_env("CLICKHOUSE_DATABASE", "altor"),
            clickhouse_secure=_bool("CLICKHOUSE_SECURE", "false"),
            chdb_path=Path(_env("ALTOR_CHDB_PATH", str(data_dir / "chdb"))),
            zendesk_base_url=_url("ZENDESK_BASE_URL", "http://127.0.0.1:8701"),
            zendesk_email=_env("ZENDESK_EMAIL", "altor@example.com"),
            zendesk_token=Secret(_env("ZENDESK_TOKEN", "")),
            zendesk_root_cause_field_id=field_id or None,
            stripe_api_base=_url("STRIPE_API_BASE", "http://127.0.0.1:8702"),
            stripe_api_key=Secret(_env("STRIPE_API_KEY", "")),
            linear_api_url=_url("LINEAR_API_URL", "http://127.0.0.1:8703/graphql"),
            linear_api_key=Secret(_env("LINEAR_API_KEY", "")),
            linear_workspace=_env("LINEAR_WORKSPACE", "acme"),
            github_api_url=_url("GITHUB_API_URL", "http://127.0.0.1:8704"),
            github_token=Secret(_env("GITHUB_TOKEN", "")),
            github_repo=_env("GITHUB_REPO", "acme/api"),
            as_of=_time("ALTOR_AS_OF"),
            go_live=_time("ALTOR_GO_LIVE"),
            sync_start=_time("ALTOR_SYNC_START"),
            page_size=_int("ALTOR_PAGE_SIZE", "100", minimum=1),
            min_delivered_share=_fraction("ALTOR_MIN_DELIVERED_SHARE", "0.5"),
            clickhouse_reread_hours=_int("ALTOR_CLICKHOUSE_REREAD_HOURS", "3", minimum=0),
            clickhouse_audit_hours=_int("ALTOR_CLICKHOUSE_AUDIT_HOURS", "48", minimum=0),
            live_sync_max_age_minutes=_int("ALTOR_LIVE_SYNC_MAX_AGE_MINUTES", "360", minimum=0),
            duckdb_memory_limit=_memory("ALTOR_DUCKDB_MEMORY_LIMIT"),
        )
