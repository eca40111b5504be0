"""Read a world directory (altor-world/1, docs/world-format.md): versions per object, and
each object's state as of a time T.

`World.load(path)` reads every `<vendor>/*.jsonl` once and indexes it: for each object id, its
versions sorted by time (file order breaks ties), so "the state at T" is one bisect. Nothing here
depends on how the world was made. Times are handled as float Unix seconds internally.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from altor_pipelines.errors import WorldFormatError

try:  # orjson (a dlt dependency) parses a large world several times faster
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

FORMAT = "altor-world/1"
VENDORS = ("zendesk", "stripe", "linear", "github")
# Objects are keyed by `id`, except GitHub commits, keyed by `sha`.
KEYS = {("github", "commits"): "sha"}


def parse_time(value: str | int | float | datetime) -> float:
    """ISO 8601 (with `Z` or an offset; a naive time is taken as UTC), Unix seconds, or datetime."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float):
        return float(value)
    else:
        text = value.strip()
        if text.lstrip("-").isdigit():
            return float(text)
        dt = datetime.fromisoformat(text.replace("z", "Z"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def iso(t: float, millis: bool = False) -> str:
    """`2026-06-01T10:05:00Z` (Zendesk, GitHub) or with milliseconds `...00.000Z` (Linear)."""
    dt = to_datetime(t)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Version:
    at: float
    obj: dict[str, Any]
    deleted: bool
    vid: int  # unique and stable serial of this version (load order; writes continue it)


class Collection:
    """All versions of one kind of object (e.g. zendesk/tickets), indexed by id and time."""

    def __init__(self, vendor: str, name: str, key: str = "id") -> None:
        self.vendor, self.name, self.key = vendor, name, key
        self._versions: dict[Any, list[Version]] = {}
        self._times: dict[Any, list[float]] = {}
        self.generation = 0  # bumped on every added version (cache key for callers)

    # -- building ---------------------------------------------------------------------------
    def _append_unsorted(self, oid: Any, v: Version) -> None:
        self._versions.setdefault(oid, []).append(v)

    def _finish(self) -> None:
        for oid, vs in self._versions.items():
            vs.sort(key=lambda v: (v.at, v.vid))
            self._times[oid] = [v.at for v in vs]

    def add_version(self, oid: Any, at: float, obj: dict, vid: int,
                    deleted: bool = False) -> Version:
        """Insert a version (e.g. a write-back) after every version at or before `at`."""
        v = Version(at, obj, deleted, vid)
        vs = self._versions.setdefault(oid, [])
        ts = self._times.setdefault(oid, [])
        i = bisect.bisect_right(ts, at)
        vs.insert(i, v)
        ts.insert(i, at)
        self.generation += 1
        return v

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._versions)

    def ids(self) -> list[Any]:
        return list(self._versions)

    def versions(self, oid: Any) -> list[Version]:
        return self._versions.get(oid, [])

    def n_versions(self) -> int:
        return sum(len(v) for v in self._versions.values())

    def first_at(self, oid: Any) -> float | None:
        ts = self._times.get(oid)
        return ts[0] if ts else None

    def state(self, oid: Any, t: float) -> Version | None:
        """Latest version with `at` <= t (possibly a deletion), or None before the first."""
        ts = self._times.get(oid)
        if not ts:
            return None
        i = bisect.bisect_right(ts, t)
        return self._versions[oid][i - 1] if i else None

    def index_at(self, oid: Any, t: float) -> int:
        """Number of versions of `oid` with `at` <= t."""
        return bisect.bisect_right(self._times.get(oid, []), t)

    def get(self, oid: Any, t: float) -> dict | None:
        """The object as of t, or None if it does not exist (yet, or any more)."""
        v = self.state(oid, t)
        return None if v is None or v.deleted else v.obj

    def visible(self, t: float, include_deleted: bool = False) -> list[tuple[Any, Version]]:
        """(id, current version) of every object existing at t, in first-seen order."""
        out = []
        for oid in self._versions:
            v = self.state(oid, t)
            if v is not None and (include_deleted or not v.deleted):
                out.append((oid, v))
        return out

    def last_live(self, oid: Any, t: float) -> dict | None:
        """The last non-deleted state at or before t (what a deleted object looked like)."""
        for v in reversed(self._versions.get(oid, [])[: self.index_at(oid, t)]):
            if not v.deleted:
                return v.obj
        return None

    def all_versions(self) -> Iterator[tuple[Any, int, Version]]:
        for oid, vs in self._versions.items():
            for i, v in enumerate(vs):
                yield oid, i, v



def read_world_json(root: str | Path) -> dict[str, Any]:
    """The world's world.json; WorldFormatError when it is missing or not JSON."""
    path = Path(root) / "world.json"
    if not path.is_file():
        raise WorldFormatError(str(path), "world.json is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise WorldFormatError(str(path), f"not JSON: {e}") from e

class World:
    """A loaded world: `world.json` plus one `Collection` per `<vendor>/<name>.jsonl`."""

    def __init__(self, root: Path, meta: dict) -> None:
        self.root = root
        self.meta = meta
        self.start = parse_time(meta["start"])
        self.end = parse_time(meta["end"])
        self.collections: dict[tuple[str, str], Collection] = {}
        self._next_vid = 1
        self.lock = threading.RLock()  # guards writes (write-backs) against concurrent readers

    @property
    def name(self) -> str:
        return self.meta.get("name", self.root.name)

    def collection(self, vendor: str, name: str) -> Collection:
        c = self.collections.get((vendor, name))
        if c is None:  # an absent file is an empty collection
            c = self.collections[(vendor, name)] = Collection(
                vendor, name, KEYS.get((vendor, name), "id")
            )
        return c

    def new_vid(self) -> int:
        with self.lock:
            vid = self._next_vid
            self._next_vid += 1
            return vid

    def n_versions(self) -> int:
        return sum(c.n_versions() for c in self.collections.values())

    @classmethod
    def load(cls, root: str | Path) -> World:
        root = Path(root)
        meta_path = root / "world.json"
        meta = read_world_json(root)
        if meta.get("format") != FORMAT:
            raise WorldFormatError(str(meta_path), f"format is not {FORMAT!r}", field="format")
        for f in ("start", "end"):
            if f not in meta:
                raise WorldFormatError(str(meta_path), "required field missing", field=f)
        world = cls(root, meta)
        for vendor in VENDORS:
            folder = root / vendor
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.jsonl")):
                world._load_file(vendor, path)
        for c in world.collections.values():
            c._finish()
        return world

    def _load_file(self, vendor: str, path: Path) -> None:
        c = self.collection(vendor, path.stem)
        key = c.key
        vid = self._next_vid
        fromiso = datetime.fromisoformat
        with path.open("rb") as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    row = _loads(raw)
                    at_raw = row["at"]
                    try:  # fast path: an ISO string with its zone
                        dt = fromiso(at_raw)
                        at = dt.timestamp() if dt.tzinfo else parse_time(dt)
                    except (TypeError, ValueError):
                        at = parse_time(at_raw)
                    obj = row["object"]
                    oid = obj[key] if key in obj or key == "id" else obj["id"]
                except json.JSONDecodeError as e:
                    raise WorldFormatError(str(path), f"not JSON: {e}", line=n) from e
                except KeyError as e:
                    raise WorldFormatError(str(path), "required key missing", line=n,
                                           field=str(e.args[0])) from e
                except (TypeError, ValueError) as e:
                    raise WorldFormatError(str(path), f"bad value: {e}", line=n, field="at") from e
                c._append_unsorted(oid, Version(at, obj, bool(row.get("deleted")), vid))
                vid += 1
        self._next_vid = vid


def load_world(root: str | Path) -> World:
    return World.load(root)
