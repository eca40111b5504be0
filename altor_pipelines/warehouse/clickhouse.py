"""One way to reach ClickHouse: `clickhouse_connect.get_client`, built from settings.

A real server or cluster when CLICKHOUSE_HOST is set; otherwise the embedded engine (chDB) at
ALTOR_CHDB_PATH. chDB allows one process per data directory and one path per process, so:

- the client for a path is created once per process and cached;
- asking for another chDB path closes the cached chDB clients first (chDB refuses a second
  path while a handle on the first is open), so tests can use one temp dir after another;
- every use goes through `ClickHouseAccess`, which serialises work on one store with a lock
  shared by every `ClickHouseAccess` (and the demo HTTP front, see `engine_lock`) of that store.

Across processes, Dagster's `clickhouse` concurrency pool (limit 1) does the same job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import clickhouse_connect

from altor_pipelines.settings import PROJECT_ROOT, Settings

CLICKHOUSE_SQL_DIR = PROJECT_ROOT / "sql" / "clickhouse"

_clients: dict[str, Any] = {}
_clients_lock = threading.RLock()
_engine_locks: dict[str, threading.RLock] = {}
_engine_locks_lock = threading.Lock()  # guards the registry only; never held while waiting


def clickhouse_sql(name: str) -> str:
    """The text of one ClickHouse-side query, `sql/clickhouse/<name>.sql`.

    Queries take ClickHouse server-side parameters (`{name:Type}`, identifiers as
    `{database:Identifier}`); Python never formats values into them.
    """
    return (CLICKHOUSE_SQL_DIR / f"{name}.sql").read_text()


def _chdb_key(path: Path) -> str:
    return f"chdb:{Path(path).resolve()}"


def _server_key(settings: Settings) -> str:
    return f"http:{settings.clickhouse_host}:{settings.clickhouse_port}"


def store_key(settings: Settings) -> str:
    """Names the store the settings point at (one lock per store)."""
    return _server_key(settings) if settings.clickhouse_host else _chdb_key(settings.chdb_path)


def engine_lock(key: str) -> threading.RLock:
    """The process-wide lock of one store (`store_key`, or `chdb_engine_lock(path)`)."""
    with _engine_locks_lock:
        return _engine_locks.setdefault(key, threading.RLock())


def chdb_engine_lock(path: Path | str) -> threading.RLock:
    """The lock serialising every use of the chDB engine at `path` in this process."""
    return engine_lock(_chdb_key(Path(path)))


def close_chdb_clients() -> None:
    """Close every cached chDB client (frees the engine so another path can be opened)."""
    with _clients_lock:
        for key in [k for k in _clients if k.startswith("chdb:")]:
            # No engine lock here (a thread holding it may wait for _clients_lock): chDB's own
            # handle lock makes close() wait for a call in flight.
            try:
                _clients.pop(key).close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


def _chdb_client(path: Path) -> Any:
    key = _chdb_key(path)
    with _clients_lock:
        if key not in _clients:
            if any(k.startswith("chdb:") for k in _clients):
                close_chdb_clients()  # chDB: one path per process
            path.mkdir(parents=True, exist_ok=True)
            _clients[key] = clickhouse_connect.get_client(interface="chdb",
                                                          path=str(path.resolve()))
        return _clients[key]


def get_clickhouse_client(settings: Settings) -> Any:
    """A clickhouse-connect client for the configured server, or for the embedded engine.

    Server clients are cached per host/port/user/database like chDB ones, so a long run does
    not reconnect (and re-read `system.settings`) per query.
    """
    if not settings.clickhouse_host:
        return _chdb_client(settings.chdb_path)
    key = "|".join(
        (_server_key(settings), settings.clickhouse_user, settings.clickhouse_database,
         str(hash(settings.clickhouse_password)), str(settings.clickhouse_secure))
    )
    with _clients_lock:
        if key not in _clients:
            _clients[key] = clickhouse_connect.get_client(
                host=settings.clickhouse_host,
                port=settings.clickhouse_port,
                username=settings.clickhouse_user,
                password=settings.clickhouse_password.reveal(),
                database=settings.clickhouse_database,
                secure=settings.clickhouse_secure,
            )
        return _clients[key]


def forget_server_clients() -> None:
    """Drop cached server clients (e.g. after a test server stopped)."""
    with _clients_lock:
        for key in [k for k in _clients if k.startswith("http:")]:
            try:
                _clients.pop(key).close()
            except Exception:  # noqa: BLE001
                pass


class ClickHouseAccess:
    """Serialised access to one ClickHouse store (chDB is single-process, single-path).

    `with access.client() as client:` holds the store's lock for the block, so two steps (or
    threads) in one process never interleave queries on the engine. Keep blocks short: one
    query or one insert batch each, so other steps are not starved.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = store_key(settings)
        self._lock = engine_lock(self.key)

    @property
    def database(self) -> str:
        return self.settings.clickhouse_database

    @contextmanager
    def client(self) -> Iterator[Any]:
        with self._lock:
            yield get_clickhouse_client(self.settings)

    def __repr__(self) -> str:  # never shows the password
        return f"ClickHouseAccess({self.key})"
