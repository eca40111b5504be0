"""The model registry: skops round trip, the pointer, refusal on mismatch, the promotion rule."""

from __future__ import annotations

import functools
import json
from datetime import datetime

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml import registry
from altor_pipelines.ml.dataset import feature_matrix
from altor_pipelines.ml.model import build_classifier
from tests.fixtures.ml_fixtures import write_feature_sql
from tests.unit.test_ml_model import SPEC, _frame


@pytest.fixture()
def sql_dir(tmp_path):
    return write_feature_sql(tmp_path / "sql")


@pytest.fixture()
def saved(tmp_path, sql_dir):
    root = tmp_path / "models" / "triage"
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), ["a", "a", "b", "b"])
    meta = {"feature_sql_hash": registry.feature_sql_hash(sql_dir),
            "library_versions": registry.library_versions(),
            "decision": {"threshold": 0.9}, "feature_spec": {"columns": [],
            "rule_score_columns": {}, "tables": []}}
    version = registry.save_model(root, model, meta, now=datetime(2026, 8, 1, 12))
    return root, version


def test_save_and_load_round_trip_with_skops(saved, sql_dir):
    root, version = saved
    assert version == "20260801T120000Z"
    assert (root / version / "model.skops").exists()
    meta = json.loads((root / version / "metadata.json").read_text())
    assert meta["version"] == version
    loaded = registry.load_model(root, version, sql_dir)
    assert list(loaded.model.predict(np.array([[0.0], [3.0]]))) == ["a", "b"]
    # one global threshold (metadata before per-cause decisions), read per cause
    assert loaded.policy.causes["known_bug"].threshold == 0.9


def test_a_second_save_in_the_same_second_gets_its_own_version(saved, sql_dir):
    root, version = saved
    meta = registry.read_metadata(root, version)
    model = registry.load_model(root, version, sql_dir).model
    again = registry.save_model(root, model, meta, now=datetime(2026, 8, 1, 12))
    assert again == "20260801T120000Z-1"
    assert registry.list_versions(root) == [version, again]


def test_serving_without_a_pointer_is_refused_with_a_clear_message(saved, sql_dir):
    root, _ = saved
    with pytest.raises(ModelRegistryError, match="no triage model is current"):
        registry.load_model(root, sql_dir=sql_dir)


def test_the_pointer_names_the_served_version(saved, sql_dir):
    root, version = saved
    registry.set_current(root, version)
    assert (root / "CURRENT").read_text().strip() == version
    assert registry.load_model(root, sql_dir=sql_dir).version == version


def test_a_model_built_from_other_feature_sql_is_refused(saved, sql_dir):
    root, version = saved
    registry.set_current(root, version)
    (sql_dir / "features" / "fct_ticket_features.sql").write_text("SELECT 2 AS ticket_id\n")
    with pytest.raises(ModelRegistryError, match="feature SQL hash"):
        registry.load_model(root, sql_dir=sql_dir)


def test_a_new_heuristics_file_changes_the_hash(sql_dir):
    before = registry.feature_sql_hash(sql_dir)
    (sql_dir / "heuristics" / "evidence.sql").write_text("SELECT 1\n")
    assert registry.feature_sql_hash(sql_dir) != before


def test_a_model_built_with_other_library_versions_is_refused(saved, sql_dir):
    root, version = saved
    meta = registry.read_metadata(root, version)
    meta["library_versions"]["scikit-learn"] = "0.24.2"
    registry.update_metadata(root, version, library_versions=meta["library_versions"])
    with pytest.raises(ModelRegistryError, match=r"scikit-learn 0\.24\.2 at training"):
        registry.load_model(root, version, sql_dir)


def test_unknown_version_is_refused(saved, sql_dir):
    root, _ = saved
    with pytest.raises(ModelRegistryError, match="not found"):
        registry.load_model(root, "20990101T000000Z", sql_dir)


def test_promotion_rule_not_worse_on_every_key():
    cur = {"macro_f1": 0.90, "delivered_precision": 0.95}
    assert registry.not_worse({"macro_f1": 0.90, "delivered_precision": 0.95}, cur)[0]
    assert registry.not_worse({"macro_f1": 0.93, "delivered_precision": 0.96}, cur)[0]
    ok, why = registry.not_worse({"macro_f1": 0.93, "delivered_precision": 0.94}, cur)
    assert not ok and "delivered_precision" in why
    assert registry.not_worse({"macro_f1": 0.895, "delivered_precision": 0.95}, cur,
                              tolerance=0.01)[0]


def test_record_promotion_moves_the_pointer_only_when_promoted(saved, sql_dir):
    root, version = saved
    registry.record_promotion(root, version, {"promoted": False, "reason": "worse"})
    assert registry.current_version(root) is None
    assert registry.read_metadata(root, version)["promotion"]["reason"] == "worse"
    registry.record_promotion(root, version, {"promoted": True, "reason": "no current model"})
    assert registry.current_version(root) == version


def test_the_served_boosted_stack_round_trips_through_the_allow_list(tmp_path, sql_dir):
    # its trees' categorical preprocessor holds functools.partial(check_array): allowed as a
    # wrapper because the function it wraps is sklearn's
    frame, y = _frame()
    X = feature_matrix(frame, SPEC)
    model = build_classifier(SPEC).fit(X, y)
    root = tmp_path / "boosted" / "triage"
    meta = {"feature_sql_hash": registry.feature_sql_hash(sql_dir),
            "library_versions": registry.library_versions(), "decision": {"threshold": 0.9},
            "feature_spec": SPEC.to_dict()}
    version = registry.save_model(root, model, meta)
    loaded = registry.load_model(root, version, sql_dir)
    assert np.allclose(loaded.model.predict_proba(X), model.predict_proba(X))


def test_a_model_holding_a_type_outside_the_allow_list_is_refused(tmp_path, sql_dir):
    root = tmp_path / "foreign" / "triage"
    meta = {"feature_sql_hash": registry.feature_sql_hash(sql_dir),
            "library_versions": registry.library_versions(), "decision": {"threshold": 0.9},
            "feature_spec": {"columns": [], "rule_score_columns": {}, "tables": []}}
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), ["a", "b"])
    # a trusted wrapper around an untrusted function: refused for the function
    model.smuggled_ = functools.partial(print, "hello")
    version = registry.save_model(root, model, meta)
    with pytest.raises(ModelRegistryError, match=r"outside the allow-list: \['builtins.print'\]"):
        registry.load_model(root, version, sql_dir)
