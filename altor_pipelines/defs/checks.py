"""Asset checks: what a user of the warehouse relies on, checked after every materialisation.

This module is the catalog: which check runs on which asset. Each check is a plain function
over a DuckDB connection (or over the Dagster instance's materialisation history) that returns
an `Outcome` (`check_outcome.py`): passed or not, and a message that says in plain words what
is wrong and which rows; they live by what they check (`checks_tables.py`,
`checks_accounts.py`, `checks_diagnosis.py`). `asset_checks()` wires them to the assets as
multi-asset checks, one per source or layer, so a run adds one check step per stage, not one
per table.

A check whose input is not built yet (the diagnosis table, the model registry) passes with a
message starting "Not checked:" and `status: skipped` in its metadata.
"""


from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from altor_pipelines.clock import as_of
from altor_pipelines.defs.check_outcome import Outcome
from altor_pipelines.defs.checks_accounts import account_key_conflicts, unmatched_active_customers
from altor_pipelines.defs.checks_diagnosis import (
    delivered_against_recorded,
    delivered_share_and_precision,
    serving_model_matches,
    tickets_without_diagnosis,
    tickets_without_features,
)
from altor_pipelines.defs.checks_tables import (
    MAX_ROW_DROP,
    duplicate_keys,
    recent_row_counts,
    row_count_drop,
    source_freshness,
)
from altor_pipelines.defs.resources import WAREHOUSE_POOL, AltorResource
from altor_pipelines.sources.sync import SOURCE_TABLES
from altor_pipelines.warehouse.sql_runner import SQL_LAYERS

# A source is stale when its newest successful load is older than this many sync intervals.
FRESHNESS_INTERVALS = 3
# How often each source is synced (the schedules in automation.py use the same minutes).
SYNC_EVERY_MINUTES: dict[str, int] = {
    "zendesk": 5, "stripe": 15, "linear": 10, "github": 10, "clickhouse": 5,
}
# Primary keys of the raw tables: dlt's `primary_key` of each resource; `id` otherwise.
RAW_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("clickhouse", "org_hours"): ("org_id", "hour"),
    ("github", "commits"): ("sha",),
}
# Staging keys: the contract's first column (docs/warehouse-tables.md), except where a table's
# grain is several columns.
STAGING_KEYS: dict[str, tuple[str, ...]] = {
    "stg_clickhouse__org_hours": ("org_id", "hour"),
    "stg_zendesk__ticket_field_history": ("event_id", "field_name"),
    "stg_stripe__subscription_history": ("subscription_id", "valid_from"),
}
PK_CHECK = "primary_key_unique"
ROW_DROP_CHECK = "row_count_no_sudden_drop"
FRESH_CHECK = "source_is_fresh"
SPINE_CHECK = "no_active_customer_unmatched"
ACCOUNT_KEY_CHECK = "account_key_unique"
FEATURES_CHECK = "every_ticket_has_features"
DIAGNOSIS_CHECK = "every_ticket_has_diagnosis_or_abstention"
MODEL_CHECK = "serving_model_matches_feature_sql"
DELIVERY_CHECK = "diagnoses_delivered_share_and_precision"
RECORDED_CHECK = "delivered_diagnoses_agree_with_recorded_causes"

FEATURES_KEY = dg.AssetKey(["features", "fct_ticket_features"])
SPINE_KEY = dg.AssetKey(["intermediate", "int_account_spine"])
DIAGNOSES_KEY_NAMES = ("diagnoses",)


# --------------------------------------------------------------------------- wiring

Runner = Callable[[dg.AssetCheckExecutionContext, duckdb.DuckDBPyConnection | None,
                   AltorResource], Outcome]


@dataclass(frozen=True)
class _Check:
    key: dg.AssetCheckKey
    description: str
    run: Runner
    uses_warehouse: bool = True
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
    blocking: bool = False  # a failure stops the assets downstream in the run


def _table(key: dg.AssetKey) -> str:
    return ".".join(key.path)


def _pk(key: dg.AssetKey, columns: tuple[str, ...] | None) -> _Check:
    label = ", ".join(columns) if columns else "its first column"
    return _Check(dg.AssetCheckKey(key, PK_CHECK),
                  f"No two rows share a primary key ({label}).",
                  lambda ctx, con, altor: duplicate_keys(con, _table(key), columns))


def _row_drop(key: dg.AssetKey) -> _Check:
    return _Check(dg.AssetCheckKey(key, ROW_DROP_CHECK),
                  f"The row count fell by at most {MAX_ROW_DROP:.0%} since the previous "
                  "materialisation.",
                  lambda ctx, con, altor: row_count_drop(
                      _table(key), recent_row_counts(ctx.instance, key)),
                  uses_warehouse=False, severity=dg.AssetCheckSeverity.WARN)


def _fresh(source: str, key: dg.AssetKey) -> _Check:
    max_age = timedelta(minutes=SYNC_EVERY_MINUTES[source] * FRESHNESS_INTERVALS)
    return _Check(dg.AssetCheckKey(key, FRESH_CHECK),
                  f"raw_{source} was loaded within the last {max_age.total_seconds() / 60:g} "
                  f"minutes ({FRESHNESS_INTERVALS} sync intervals).",
                  lambda ctx, con, altor: source_freshness(con, source, datetime.now(UTC),
                                                           max_age),
                  severity=dg.AssetCheckSeverity.WARN)


def _spine() -> _Check:
    def run(ctx, con, altor: AltorResource) -> Outcome:
        return unmatched_active_customers(con, as_of(altor.settings()))

    # WARN: a customer with traffic who never wrote to support (no help-desk organization) or
    # on a free plan (no Stripe customer) is ordinary; their tickets lack context, the run is
    # not broken. A key naming two accounts is the blocking check (account_key_unique).
    return _Check(dg.AssetCheckKey(SPINE_KEY, SPINE_CHECK),
                  "Every active customer (subscription not canceled, or traffic in the last "
                  "30 days) has a help-desk organization and a Stripe customer.", run,
                  severity=dg.AssetCheckSeverity.WARN)


def _checks_by_group(asset_keys: set[dg.AssetKey]) -> dict[str, list[_Check]]:
    groups: dict[str, list[_Check]] = {}
    for source, tables in SOURCE_TABLES.items():
        items = []
        for i, table in enumerate(tables):
            key = dg.AssetKey([f"raw_{source}", table])
            if key not in asset_keys:
                continue
            if i == 0:
                items.append(_fresh(source, key))
            items.append(_pk(key, RAW_KEYS.get((source, table), ("id",))))
            items.append(_row_drop(key))
        if items:
            groups[f"raw_{source}"] = items
    diagnoses = next((k for k in sorted(asset_keys, key=lambda k: k.path)
                      if k.path[-1] in DIAGNOSES_KEY_NAMES), None)
    by_layer = sorted((k for k in asset_keys if len(k.path) == 2
                       and (k.path[0] in SQL_LAYERS or k == diagnoses)), key=lambda k: k.path)
    for key in by_layer:
        layer, name = key.path
        items = groups.setdefault(layer, [])
        if layer == "staging":
            items.append(_pk(key, STAGING_KEYS.get(name)))
        items.append(_row_drop(key))
    if SPINE_KEY in asset_keys:
        groups["intermediate"].append(_spine())
        groups["intermediate"].append(_Check(
            dg.AssetCheckKey(SPINE_KEY, ACCOUNT_KEY_CHECK),
            "Each account key (org id) names one help-desk organization and one Stripe "
            "customer at most; blocks the features when not.",
            lambda ctx, con, altor: account_key_conflicts(con), blocking=True))
    if FEATURES_KEY in asset_keys:
        groups["features"].append(_Check(
            dg.AssetCheckKey(FEATURES_KEY, FEATURES_CHECK),
            "Every help-desk ticket has a row of features.",
            lambda ctx, con, altor: tickets_without_features(con)))
        groups["features"].append(_Check(
            dg.AssetCheckKey(FEATURES_KEY, MODEL_CHECK),
            "The serving triage model was trained on this feature SQL and these libraries.",
            lambda ctx, con, altor: serving_model_matches(altor.settings().models_dir),
            uses_warehouse=False))
        # On the diagnosis asset when it exists; until then on the features (it skips).
        target = diagnoses or FEATURES_KEY
        groups.setdefault(target.path[0] if diagnoses else "features", []).append(_Check(
            dg.AssetCheckKey(target, DIAGNOSIS_CHECK),
            "Every ticket has a diagnosis or an explicit abstention.",
            lambda ctx, con, altor: tickets_without_diagnosis(con)))
    if diagnoses:
        groups.setdefault(diagnoses.path[0], []).append(_Check(
            dg.AssetCheckKey(diagnoses, DELIVERY_CHECK),
            "The newest model delivers a cause for at least the configured share of tickets "
            "(ALTOR_MIN_DELIVERED_SHARE) and its estimated precision meets its target.",
            lambda ctx, con, altor: delivered_share_and_precision(
                con, altor.settings().models_dir, altor.settings().min_delivered_share)))
        groups[diagnoses.path[0]].append(_Check(
            dg.AssetCheckKey(diagnoses, RECORDED_CHECK),
            "Agents kept the newest model's delivered diagnoses of tickets after its training "
            "window as the recorded cause at its target precision (the production figure of "
            "the out-of-fold estimate).",
            lambda ctx, con, altor: delivered_against_recorded(
                con, altor.settings().models_dir),
            severity=dg.AssetCheckSeverity.WARN))
    return groups


def _outcome_to_result(check: _Check, outcome: Outcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=check.key.asset_key, check_name=check.key.name, passed=outcome.passed,
        severity=check.severity, description=outcome.message, metadata=outcome.metadata)


def _multi_check(group: str, items: list[_Check]) -> dg.AssetChecksDefinition:
    by_key = {c.key: c for c in items}

    @dg.multi_asset_check(
        name=f"{group}_checks",
        specs=[dg.AssetCheckSpec(c.key.name, asset=c.key.asset_key, description=c.description,
                                 blocking=c.blocking)
               for c in items],
        can_subset=True,
        pool=WAREHOUSE_POOL,
        description=f"Data checks of the {group} tables (read-only on the warehouse).",
    )
    def _checks(context: dg.AssetCheckExecutionContext, altor: AltorResource):
        selected = [by_key[k] for k in context.selected_asset_check_keys if k in by_key]
        selected.sort(key=lambda c: (c.key.asset_key.path, c.key.name))
        path = altor.settings().warehouse_path
        con = None
        if any(c.uses_warehouse for c in selected) and Path(path).exists():
            con = duckdb.connect(str(path), read_only=True)
        try:
            for check in selected:
                if check.uses_warehouse and con is None:
                    outcome = Outcome(False, f"The warehouse file {path} does not exist: "
                                             "nothing has been loaded yet.")
                else:
                    outcome = check.run(context, con, altor)
                yield _outcome_to_result(check, outcome)
        finally:
            if con is not None:
                con.close()

    return _checks


def asset_checks(asset_keys: Iterable[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """The checks for the assets that exist (a check never targets a missing asset)."""
    return [_multi_check(group, items)
            for group, items in _checks_by_group(set(asset_keys)).items()]


def check_keys(checks: Iterable[dg.AssetChecksDefinition], name: str) -> list[dg.AssetCheckKey]:
    """The keys of every check called `name` among `checks`."""
    return [k for c in checks for k in c.check_keys if k.name == name]
