"""One way to reach ClickHouse: `clickhouse_connect.get_client`, built from settings.

A real server or cluster when CLICKHOUSE_HOST is set; otherwise the embedded engine (chDB) at
ALTOR_CHDB_PATH. chDB allows one process per data directory and one path per process, so the
client for a path is created once per process and every use goes through `ClickHouseAccess`,
which serialises queries with a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import clickhouse_connect

from altor_pipelines.settings import Settings

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _chdb_client(path: Path) -> Any:
    key = f"chdb:{path.resolve()}"
    with _clients_lock:
        if key not in _clients:
            path.mkdir(parents=True, exist_ok=True)
            _clients[key] = clickhouse_connect.get_client(interface="chdb", path=str(path.resolve()))
        return _clients[key]


def get_clickhouse_client(settings: Settings) -> Any:
    """A clickhouse-connect client for the configured server, or for the embedded engine."""
    if settings.clickhouse_host:
        return clickhouse_connect.get_client(
            host=settings.clickhouse_host,
            port=settings.clickhouse_port,
            username=settings.clickhouse_user,
            password=settings.clickhouse_password.reveal(),
            database=settings.clickhouse_database,
            secure=settings.clickhouse_secure,
        )
    return _chdb_client(settings.chdb_path)


class ClickHouseAccess:
    """Serialised access to one ClickHouse client (chDB is single-process, single-path)."""

    _locks: dict[str, threading.Lock] = {}

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key = settings.clickhouse_host or str(settings.chdb_path.resolve())
        self._lock = ClickHouseAccess._locks.setdefault(key, threading.Lock())

    @contextmanager
    def client(self) -> Iterator[Any]:
        with self._lock:
            yield get_clickhouse_client(self.settings)
