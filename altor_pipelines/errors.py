"""The project's exceptions. Each names the source, the record and the field; none carries a
secret (callers pass identifiers, never tokens)."""

from __future__ import annotations


class AltorError(Exception):
    """Base of every error the project raises on purpose."""


class SettingsError(AltorError):
    """An environment variable the settings read holds a value that cannot be used."""

    def __init__(self, variable: str, message: str) -> None:
        self.variable = variable
        super().__init__(f"{variable} {message}")


class SourceError(AltorError):
    """A vendor answered something we cannot use."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        endpoint: str | None = None,
        record: str | int | None = None,
        field: str | None = None,
        status: int | None = None,
    ) -> None:
        self.source, self.endpoint, self.record, self.field = source, endpoint, record, field
        self.status = status  # the HTTP status that ended the request, when there was one
        where = [f"source={source}"]
        if endpoint:
            where.append(f"endpoint={endpoint}")
        if record is not None:
            where.append(f"record={record}")
        if field:
            where.append(f"field={field}")
        super().__init__(f"{message} ({', '.join(where)})")


class WorldFormatError(AltorError):
    """A world directory does not follow altor-world/1 (docs/world-format.md)."""

    def __init__(
        self, path: str, message: str, *, line: int | None = None, field: str | None = None
    ):
        where = (
            path + (f":{line}" if line is not None else "") + (f" field={field}" if field else "")
        )
        super().__init__(f"{message} ({where})")


class ModelRegistryError(AltorError):
    """A model cannot be served: missing, or built for other features or libraries."""


class WriteBackError(AltorError):
    """The help desk refused or failed a diagnosis write-back."""


class WarehouseLockedError(AltorError):
    """Another process holds the DuckDB warehouse file (DuckDB allows one writer, and no reader
    beside a writer in another process)."""

    def __init__(self, path: str, holder: str | None = None) -> None:
        self.path, self.holder = path, holder
        by = f" ({holder})" if holder else ""
        super().__init__(
            f"the warehouse {path} is locked by another process{by}, most likely a running "
            "pipeline: wait for it to finish (or stop it) and run this again")
