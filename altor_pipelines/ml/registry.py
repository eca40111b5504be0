"""Versioned triage models on disk: `<root>/<version>/model.skops` + `metadata.json`, and the
pointer file `<root>/CURRENT` naming the version that serves.

The root is `settings.models_dir / "triage"` in the pipeline (tests pass a temporary folder).
A model is saved with skops, never pickle, and loaded with a type allow-list (sklearn, numpy,
scipy). Serving refuses a model built from other feature SQL or other library versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import skops.io as sio

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml.decision import DecisionPolicy
from altor_pipelines.ml.feature_spec import FeatureSpec
from altor_pipelines.settings import Settings
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import SQL_DIR

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
POINTER_FILE = "CURRENT"
HASHED_LAYERS = ("features", "heuristics")
# The pushed-down models compute features too: their ticket lists and ClickHouse queries.
HASHED_GLOBS = ("features/pushdown/*.sql", "clickhouse/ticket_*.sql", "clickhouse/log_*.sql")
TRACKED_LIBRARIES = ("scikit-learn", "skops", "numpy", "scipy")
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.")
# functools.partial is a wrapper, not code: HistGradientBoostingClassifier's categorical
# preprocessor holds partial(sklearn.utils.validation.check_array). The function it wraps is
# itself listed by skops and must pass the prefixes above, so it can only call trusted code.
TRUSTED_WRAPPER_TYPES = frozenset({"functools.partial"})
_VERSION = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


def registry_root(settings: Settings | None = None) -> Path:
    return (settings or Settings.from_env()).models_dir / "triage"


def feature_sql_hash(sql_dir: Path = SQL_DIR) -> str:
    """sha256 over the path and text of every sql/features/*.sql and sql/heuristics/*.sql,
    and of the pushed-down models (HASHED_GLOBS)."""
    digest = hashlib.sha256()
    for layer in HASHED_LAYERS:
        for path in sorted((Path(sql_dir) / layer).glob("*.sql")):
            digest.update(f"{layer}/{path.name}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    for pattern in HASHED_GLOBS:
        for path in sorted(Path(sql_dir).glob(pattern)):
            digest.update(f"{path.relative_to(sql_dir)}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    return {name: importlib_metadata.version(name) for name in TRACKED_LIBRARIES}


def list_versions(root: Path) -> list[str]:
    if not Path(root).is_dir():
        return []
    return sorted(p.name for p in Path(root).iterdir()
                  if p.is_dir() and _VERSION.match(p.name) and (p / METADATA_FILE).exists())


def _new_version(root: Path, now: datetime | None = None) -> str:
    base = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    version, i = base, 1
    while (Path(root) / version).exists():
        version, i = f"{base}-{i}", i + 1
    return version


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def save_model(root: Path, model: Any, metadata: dict[str, Any],
               now: datetime | None = None) -> str:
    """Write a new version (model + metadata, stamped with version, hash inputs); returns it.
    The folder appears complete or not at all (written aside, then renamed)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    version = _new_version(root, now)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{version}."))
    sio.dump(model, staging / MODEL_FILE)
    _write_json(staging / METADATA_FILE, {"version": version, **metadata})
    os.chmod(staging, 0o755)
    os.replace(staging, root / version)
    return version


def read_metadata(root: Path, version: str) -> dict[str, Any]:
    path = Path(root) / version / METADATA_FILE
    if not path.exists():
        raise ModelRegistryError(f"triage model version {version!r} not found under {root}")
    return json.loads(path.read_text())


def update_metadata(root: Path, version: str, **fields: Any) -> dict[str, Any]:
    meta = read_metadata(root, version) | fields
    _write_json(Path(root) / version / METADATA_FILE, meta)
    return meta


def current_version(root: Path) -> str | None:
    """The version the pointer file names, or None when nothing was promoted yet."""
    pointer = Path(root) / POINTER_FILE
    if not pointer.exists():
        return None
    version = pointer.read_text().strip()
    return version or None


def set_current(root: Path, version: str) -> None:
    read_metadata(root, version)  # exists
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{POINTER_FILE}.")
    with os.fdopen(fd, "w") as f:
        f.write(version + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, Path(root) / POINTER_FILE)


def compatibility_problems(meta: dict[str, Any], sql_dir: Path = SQL_DIR) -> list[str]:
    """Why a model cannot serve with this code and feature SQL ([] when it can)."""
    problems = []
    expected = feature_sql_hash(sql_dir)
    if meta.get("feature_sql_hash") != expected:
        problems.append(f"feature SQL hash {str(meta.get('feature_sql_hash'))[:12]}… differs "
                        f"from the SQL in {sql_dir} ({expected[:12]}…)")
    here = library_versions()
    recorded = meta.get("library_versions", {})
    for name, version in here.items():
        if recorded.get(name) != version:
            problems.append(f"{name} {recorded.get(name)} at training, {version} installed")
    return problems


@dataclass
class LoadedModel:
    version: str
    model: Any  # the fitted classifier; its probabilities are rescaled by `temperature`
    metadata: dict[str, Any]

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.metadata["feature_spec"])

    @property
    def policy(self) -> DecisionPolicy:
        """The per-cause decisions (model, rule or abstain) the model was registered with."""
        noise = self.metadata.get("noise") or {}
        return DecisionPolicy.from_dict(self.metadata["decision"], list(CAUSES),
                                        noise.get("recording_error_rates"))

    @property
    def temperature(self) -> float:
        # models registered before the calibration entry carried their calibrator inside
        return float(self.metadata.get("calibration", {}).get("temperature", 1.0))

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.model.classes_]


def load_model(root: Path, version: str | None = None, sql_dir: Path = SQL_DIR,
               check: bool = True) -> LoadedModel:
    """Load `version` (default: the one named by the pointer file). With `check`, refuse a
    model whose feature SQL hash or library versions differ from this installation."""
    root = Path(root)
    if version is None:
        version = current_version(root)
        if version is None:
            raise ModelRegistryError(
                f"no triage model is current: {root / POINTER_FILE} is missing; train and "
                "promote one (the triage_model asset or notebooks/01_retrain_triage_classifier)"
            )
    meta = read_metadata(root, version)
    if check:
        problems = compatibility_problems(meta, sql_dir)
        if problems:
            raise ModelRegistryError(
                f"triage model {version} refused: " + "; ".join(problems)
                + ". Retrain it with the current features and libraries."
            )
    path = root / version / MODEL_FILE
    untrusted = sio.get_untrusted_types(file=path)
    foreign = [t for t in untrusted
               if not t.startswith(TRUSTED_TYPE_PREFIXES) and t not in TRUSTED_WRAPPER_TYPES]
    if foreign:
        raise ModelRegistryError(f"triage model {version} holds types outside the allow-list: "
                                 f"{foreign}")
    return LoadedModel(version, sio.load(path, trusted=untrusted), meta)


def not_worse(candidate: dict[str, float], current: dict[str, float],
              keys: tuple[str, ...] = ("macro_f1", "delivered_precision"),
              tolerance: float = 0.0) -> tuple[bool, str]:
    """The promotion rule: no key lower for the candidate than for the current model (within
    `tolerance`) on the same held-out tickets."""
    worse = [k for k in keys if candidate[k] < current[k] - tolerance]
    if worse:
        return False, "worse on " + ", ".join(
            f"{k} ({candidate[k]:.4f} < {current[k]:.4f})" for k in worse)
    return True, "not worse on " + ", ".join(
        f"{k} ({candidate[k]:.4f} ≥ {current[k]:.4f})" for k in keys)


def record_promotion(root: Path, candidate: str, comparison: dict[str, Any]) -> bool:
    """Write the comparison into the candidate's metadata; move the pointer if it is promoted."""
    promoted = bool(comparison["promoted"])
    update_metadata(root, candidate, promotion=comparison)
    if promoted:
        set_current(root, candidate)
    return promoted
