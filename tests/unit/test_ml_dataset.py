"""Features and labels from the warehouse: the right columns, no leakage, labels from the help
desk, the time split (data tests on the synthetic warehouse of tests/fixtures/ml_fixtures.py)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl
import pytest

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml import dataset as ds
from altor_pipelines.ml import feature_spec as fs
from altor_pipelines.taxonomy import CAUSES
from tests.fixtures.ml_fixtures import GO_LIVE, build_ml_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return build_ml_warehouse(tmp_path_factory.mktemp("ml") / "wh.duckdb", n_tickets=900)


@pytest.fixture()
def con(warehouse, tmp_path):
    """A writable copy, so a test may add columns without touching the others."""
    path = tmp_path / "copy.duckdb"
    path.write_bytes(warehouse.path.read_bytes())
    c = duckdb.connect(str(path))
    yield c
    c.close()


def test_spec_takes_numeric_boolean_and_categorical_columns_but_no_keys_or_times(con):
    spec = fs.infer_feature_spec(con)
    assert "err_5xx_ratio_vs_baseline" in spec.numeric
    assert "deploy_before_onset" in spec.numeric  # boolean -> numeric
    assert "score_plan_limit" in spec.numeric  # rule scores join the features
    assert set(spec.categorical) == {"plan_name", "best_rule_cause"}
    for key in ("ticket_id", "organization_id", "investigated_at", "onset_at"):
        assert key not in spec.feature_names
    assert spec.rules_fired_column == "rules_fired"
    assert spec.rule_score_columns["known_bug"] == "score_known_bug"
    assert spec.tables == ["features.fct_ticket_features", "heuristics.rule_scores"]


@pytest.mark.parametrize("column", ["truth_root_cause", "recorded_cause_copy", "label",
                                    "should_escalate", "root_cause"])
def test_feature_columns_named_like_truth_are_refused(con, column):
    con.execute(f"ALTER TABLE features.fct_ticket_features ADD COLUMN {column} VARCHAR")
    with pytest.raises(fs.FeatureLeakageError, match=column):
        fs.infer_feature_spec(con)


def test_no_feature_in_the_warehouse_is_named_like_truth(con):
    spec = fs.infer_feature_spec(con)
    for name in spec.feature_names:
        assert not fs.TRUTH_PATTERN.search(name), name


def test_high_cardinality_strings_are_not_one_hot_encoded(con):
    con.execute("ALTER TABLE features.fct_ticket_features ADD COLUMN matched_title VARCHAR")
    con.execute("UPDATE features.fct_ticket_features SET matched_title = 'title ' || ticket_id")
    spec = fs.infer_feature_spec(con)
    assert "matched_title" not in spec.feature_names
    assert "distinct values" in spec.excluded["features.fct_ticket_features.matched_title"]


def test_model_input_with_an_unregistered_column_is_refused(con):
    spec = fs.infer_feature_spec(con)
    X = ds.feature_matrix(ds.load_ticket_frame(con, spec), spec)
    ds.assert_registered(X.columns, spec)
    with pytest.raises(fs.FeatureLeakageError, match="unregistered"):
        ds.assert_registered(X.columns + ["sneaky"], spec)


def test_loader_reads_only_registered_columns_and_refuses_missing_ones(con):
    spec = fs.infer_feature_spec(con)
    con.execute("ALTER TABLE features.fct_ticket_features ADD COLUMN new_signal DOUBLE")
    frame = ds.load_ticket_frame(con, spec)
    assert "new_signal" not in frame.columns
    con.execute("ALTER TABLE features.fct_ticket_features DROP COLUMN noise_a")
    with pytest.raises(ModelRegistryError, match="noise_a"):
        ds.load_ticket_frame(con, spec)


def test_labels_come_from_solved_tickets_recorded_cause_before_the_cutoff(con):
    labels = ds.load_labels(con, before=GO_LIVE)
    assert labels.height > 0
    assert labels["created_at"].max() < GO_LIVE
    open_ids = con.execute("SELECT ticket_id FROM staging.stg_zendesk__tickets "
                           "WHERE status NOT IN ('solved', 'closed')").fetchall()
    assert not set(labels["ticket_id"]) & {r[0] for r in open_ids}
    assert labels["escalated_to_engineering"].any()  # from the field history


def test_labels_read_the_tables_they_are_given(con):
    """A backtest trains on the help desk as it stood at its window's start: a ticket solved
    only later is not labelled, and a move to Engineering made later does not count."""
    labels = ds.load_labels(con, before=GO_LIVE)
    solved_later, escalated = labels.filter(pl.col("escalated_to_engineering"))["ticket_id"][:2]
    con.execute("CREATE SCHEMA bt")
    con.execute("CREATE TABLE bt.tickets AS SELECT * REPLACE (CASE WHEN ticket_id = $t "
                "THEN 'open' ELSE status END AS status) FROM staging.stg_zendesk__tickets",
                {"t": solved_later})
    con.execute("CREATE TABLE bt.history AS SELECT * FROM "
                "staging.stg_zendesk__ticket_field_history "
                "WHERE NOT (ticket_id = $t AND field_name = 'group_id')", {"t": escalated})
    then = ds.load_labels(con, before=GO_LIVE, tables=fs.TableNames(
        tickets="bt.tickets", field_history="bt.history"))
    assert solved_later not in set(then["ticket_id"])
    assert then.height == labels.height - 1
    row = then.filter(pl.col("ticket_id") == escalated)
    assert row["escalated_to_engineering"].to_list() == [False]


def test_recorded_values_outside_the_taxonomy_are_dropped_and_counted(con):
    con.execute("UPDATE staging.stg_zendesk__tickets SET recorded_root_cause = 'Known Bug' "
                "WHERE ticket_id = 10000")
    con.execute("UPDATE staging.stg_zendesk__tickets SET recorded_root_cause = 'gremlins' "
                "WHERE ticket_id = 10001")
    d = ds.load_dataset(con, before=GO_LIVE)
    assert d.unknown_labels == {"gremlins": 1}
    assert d.frame.filter(pl.col("ticket_id") == 10000)["label"][0] == "known_bug"


def test_label_coverage_per_class(con):
    d = ds.load_dataset(con, before=GO_LIVE)
    counts = d.label_counts()
    assert set(counts) == set(CAUSES)
    assert min(counts.values()) >= 20, counts


def test_no_feature_is_stamped_after_the_investigation_time(con):
    assert ds.point_in_time_violations(con, "features.fct_ticket_features") == {"onset_at": 0}
    con.execute("UPDATE features.fct_ticket_features SET onset_at = investigated_at "
                "+ INTERVAL 1 HOUR WHERE ticket_id = 10003")
    assert ds.point_in_time_violations(con, "features.fct_ticket_features") == {"onset_at": 1}


def test_time_split_trains_on_older_tickets_than_it_tests(con):
    d = ds.load_dataset(con, before=GO_LIVE)
    s = ds.time_split(d.frame, (0.6, 0.2, 0.2))
    assert s.train.height + s.valid.height + s.test.height == d.frame.height
    assert s.train["created_at"].max() <= s.valid["created_at"].min()
    assert s.valid["created_at"].max() <= s.test["created_at"].min()
    assert abs(s.test.height - 0.2 * d.frame.height) <= 1


def test_feature_tables_are_named_in_one_place_or_discovered(con):
    assert fs.discover_feature_tables(con) == ["features.fct_ticket_features"]
    con.execute("CREATE TABLE features.ticket_windows AS "
                "SELECT ticket_id, 1 AS w FROM features.fct_ticket_features "
                "UNION ALL SELECT ticket_id, 2 FROM features.fct_ticket_features")
    con.execute("CREATE TABLE features.ticket_extra AS "
                "SELECT ticket_id, 1.0 AS extra_signal FROM features.fct_ticket_features")
    assert fs.discover_feature_tables(con) == ["features.fct_ticket_features"]
    discover = fs.TableNames(feature_tables=None)
    # discovery: every table with one row per ticket (ticket_windows has two)
    assert fs.discover_feature_tables(con, discover) == ["features.fct_ticket_features",
                                                         "features.ticket_extra"]
    assert "extra_signal" in fs.infer_feature_spec(con, discover).numeric


def test_a_before_cutoff_of_none_takes_all_labelled_history(con):
    assert ds.load_labels(con).height == ds.load_labels(con, before=datetime(2100, 1, 1)).height
