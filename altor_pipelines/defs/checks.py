"""Asset checks: what a user of the warehouse relies on, checked after every materialisation.

Each check is a plain function over a DuckDB connection (or over the Dagster instance's
materialisation history) that returns an `Outcome`: passed or not, and a message that says in
plain words what is wrong and which rows. `asset_checks()` wires them to the assets as
multi-asset checks, one per source or layer, so a run adds one check step per stage, not one
per table.

A check whose input is not built yet (the diagnosis table, the model registry) passes with a
message starting "Not checked:" and `status: skipped` in its metadata.
"""


import importlib.util
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from altor_pipelines.clock import as_of, naive_utc
from altor_pipelines.defs.resources import WAREHOUSE_POOL, AltorResource
from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml import registry
from altor_pipelines.sources.sync import SOURCE_TABLES
from altor_pipelines.warehouse.duckdb import sql_text
from altor_pipelines.warehouse.sql_runner import SQL_LAYERS

# A table may shrink by at most this share between two materialisations.
MAX_ROW_DROP = 0.25
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
SAMPLE = 5  # offending rows quoted in a message

PK_CHECK = "primary_key_unique"
ROW_DROP_CHECK = "row_count_no_sudden_drop"
FRESH_CHECK = "source_is_fresh"
SPINE_CHECK = "no_active_customer_unmatched"
ACCOUNT_KEY_CHECK = "account_key_unique"
FEATURES_CHECK = "every_ticket_has_features"
DIAGNOSIS_CHECK = "every_ticket_has_diagnosis_or_abstention"
MODEL_CHECK = "serving_model_matches_feature_sql"
DELIVERY_CHECK = "diagnoses_delivered_share_and_precision"

FEATURES_KEY = dg.AssetKey(["features", "fct_ticket_features"])
SPINE_KEY = dg.AssetKey(["intermediate", "int_account_spine"])
DIAGNOSES_KEY_NAMES = ("diagnoses",)


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def skipped(cls, why: str) -> "Outcome":
        return cls(True, f"Not checked: {why}", {"status": "skipped"})


# --------------------------------------------------------------------------- helpers

def _q(identifier: str) -> str:
    """A quoted identifier (names come from code and the catalog, never from data)."""
    return '"' + identifier.replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, name]).fetchall()[0][0] > 0


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "ORDER BY column_index", [schema, name]).fetchall()]


def _missing(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> list[str]:
    return [t for t in tables if not table_exists(con, t)]


def _ids(values: Sequence[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:SAMPLE])
    return shown + (f" and {len(values) - SAMPLE} more" if len(values) > SAMPLE else "")


# --------------------------------------------------------------------------- the checks

def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str,
                   key: Sequence[str] | None = None) -> Outcome:
    """No two rows of `table` share a primary key (`key`; default: the first column)."""
    if not table_exists(con, table):
        return Outcome.skipped(f"{table} does not exist yet (nothing loaded into it)")
    columns = columns_of(con, table)
    key = tuple(key or columns[:1])
    absent = [c for c in key if c not in columns]
    if absent:
        return Outcome(False, f"{table} has no column {', '.join(absent)} of its primary key "
                              f"({', '.join(key)}); its columns are {', '.join(columns)}.")
    cols = ", ".join(_q(c) for c in key)
    schema, name = table.split(".")
    rows = con.execute(
        f"SELECT {cols}, count(*) AS n, count(*) OVER () AS groups "
        f"FROM {_q(schema)}.{_q(name)} GROUP BY {cols} HAVING count(*) > 1 "
        f"ORDER BY n DESC, {cols} LIMIT {SAMPLE}").fetchall()
    label = ", ".join(key)
    if not rows:
        return Outcome(True, f"Every row of {table} has its own {label}.", {"key": label})
    groups = rows[0][-1]
    examples = "; ".join(
        " ".join(f"{c}={v}" for c, v in zip(key, r[:len(key)], strict=True)) + f" ({r[-2]} rows)"
        for r in rows)
    return Outcome(False, f"{table} has {groups} duplicated primary key value(s) ({label}): "
                          f"{examples}. A merge or a staging join is producing duplicates.",
                   {"key": label, "duplicated_keys": int(groups)})


def unmatched_active_customers(con: duckdb.DuckDBPyConnection, as_of: datetime) -> Outcome:
    """Every active customer (a subscription not canceled, or traffic in the 30 days up to
    `as_of`) has a help-desk organization and a Stripe customer in the account spine."""
    needed = ["intermediate.int_account_spine", "staging.stg_stripe__subscriptions",
              "staging.stg_stripe__customers", "staging.stg_clickhouse__org_hours"]
    missing = _missing(con, needed)
    if missing:
        return Outcome.skipped(f"{', '.join(missing)} not built yet")
    rows = con.execute(sql_text("intermediate/checks/active_customers_unmatched.sql"),
                       {"as_of": naive_utc(as_of)}).fetchall()
    if not rows:
        return Outcome(True, "Every active customer is matched across help desk, Stripe and "
                             "request logs.", {"unmatched_active": 0})
    details = "; ".join(f"{org} ({why}): {problem}"
                        for org, why, problem in rows[:SAMPLE])
    more = f" and {len(rows) - SAMPLE} more" if len(rows) > SAMPLE else ""
    return Outcome(False, f"{len(rows)} active customer(s) are not matched in the account "
                          f"spine: {details}{more}. Their tickets get no billing or traffic "
                          "evidence: set the help-desk organization's external_id and the "
                          "Stripe customer's metadata.org_id to the org id of the logs.",
                   {"unmatched_active": len(rows),
                    "org_ids": dg.MetadataValue.json([r[0] for r in rows[:100]])})


def account_key_conflicts(con: duckdb.DuckDBPyConnection) -> Outcome:
    """No org id (the key linking help desk, Stripe and logs) is claimed by two help-desk
    organizations or two Stripe customers (the spine quarantines such keys as
    `duplicate_key`; this check makes them block everything downstream)."""
    if not table_exists(con, "intermediate.int_account_spine"):
        return Outcome.skipped("intermediate.int_account_spine not built yet")
    if "conflicting_ids" not in columns_of(con, "intermediate.int_account_spine"):
        return Outcome(False, "intermediate.int_account_spine has no conflicting_ids column: "
                              "rebuild it from sql/intermediate/int_account_spine.sql.")
    rows = con.execute("""
        SELECT org_id, conflicting_ids FROM intermediate.int_account_spine
        WHERE match_status = 'duplicate_key' OR org_id IN (
            SELECT org_id FROM intermediate.int_account_spine GROUP BY org_id
            HAVING count(*) > 1)
        ORDER BY org_id""").fetchall()
    if not rows:
        return Outcome(True, "Every account key (org id) belongs to at most one help-desk "
                             "organization and one Stripe customer.", {"duplicate_keys": 0})
    details = "; ".join(f"{org!r} claimed by {', '.join(ids or [])}" for org, ids in rows[:SAMPLE])
    more = f" and {len(rows) - SAMPLE} more" if len(rows) > SAMPLE else ""
    return Outcome(False, f"{len(rows)} account key(s) are claimed by more than one "
                          f"organization or customer: {details}{more}. They are quarantined "
                          "(no billing or traffic evidence is linked to them) and the features "
                          "are not rebuilt until each key names one account: fix the help-desk "
                          "organization's external_id or the Stripe customer's metadata.org_id.",
                   {"duplicate_keys": len(rows),
                    "org_ids": dg.MetadataValue.json([r[0] for r in rows[:100]])})


def source_freshness(con: duckdb.DuckDBPyConnection, source: str, now: datetime,
                     max_age: timedelta) -> Outcome:
    """The newest successful dlt load of `raw_<source>` is at most `max_age` old."""
    table = f"raw_{source}._dlt_loads"
    if not table_exists(con, table):
        return Outcome(False, f"raw_{source} has never been loaded: run the sync_{source} job "
                              f"(or its schedule).", {"source": source})
    newest = con.execute(f"SELECT max(inserted_at) FROM raw_{source}._dlt_loads "
                         "WHERE status = 0").fetchall()[0][0]
    if newest is None:
        return Outcome(False, f"raw_{source} has no successful load: see the sync_{source} "
                              "runs' logs.", {"source": source})
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    age = now - newest
    minutes = round(age.total_seconds() / 60, 1)
    meta = {"source": source, "last_load": newest.isoformat(), "age_minutes": minutes,
            "max_age_minutes": max_age.total_seconds() / 60}
    if age <= max_age:
        return Outcome(True, f"{source} was last loaded {minutes} minutes ago "
                             f"(allowed: {max_age.total_seconds() / 60:g}).", meta)
    return Outcome(False, f"{source} is stale: last successful load {newest:%Y-%m-%d %H:%M} "
                          f"UTC, {minutes} minutes ago, more than the "
                          f"{max_age.total_seconds() / 60:g} minutes allowed. Is the "
                          f"ingest_{source}_schedule running, and are its runs failing?", meta)


def recent_row_counts(instance: dg.DagsterInstance, key: dg.AssetKey, limit: int = 2
                      ) -> list[int]:
    """`dagster/row_count` of the newest materialisations of `key`, newest first."""
    records = instance.fetch_materializations(key, limit=limit).records
    counts = []
    for record in records:
        mat = record.asset_materialization
        value = mat.metadata.get("dagster/row_count") if mat else None
        if value is not None:
            counts.append(int(getattr(value, "value", value)))
    return counts


def row_count_drop(table: str, counts: Sequence[int], max_drop: float = MAX_ROW_DROP
                   ) -> Outcome:
    """The newest row count (counts[0]) is not more than `max_drop` below the one before."""
    if len(counts) < 2:
        return Outcome.skipped(f"{table} has fewer than two materialisations with a row count")
    current, previous = counts[0], counts[1]
    meta = {"rows": current, "previous_rows": previous}
    if previous == 0 or current >= previous * (1 - max_drop):
        return Outcome(True, f"{table}: {current} rows, previously {previous}.", meta)
    drop = 1 - current / previous
    return Outcome(False, f"{table} shrank from {previous} to {current} rows ({drop:.0%} fewer; "
                          f"more than {max_drop:.0%} is suspicious). Was a source emptied, a "
                          "filter changed, or a load partial?", meta | {"drop": round(drop, 4)})


def tickets_without_features(con: duckdb.DuckDBPyConnection) -> Outcome:
    """Every (not deleted) help-desk ticket has a row in features.fct_ticket_features."""
    missing = _missing(con, ["staging.stg_zendesk__tickets", "features.fct_ticket_features"])
    if missing:
        return Outcome.skipped(f"{', '.join(missing)} not built yet")
    rows = con.execute(sql_text("features/checks/tickets_without_features.sql")).fetchall()
    if not rows:
        return Outcome(True, "Every ticket has a row of features.", {"tickets_missing": 0})
    ids = [r[0] for r in rows]
    return Outcome(False, f"{len(ids)} ticket(s) have no features in "
                          f"features.fct_ticket_features: ticket ids {_ids(ids)}. They cannot "
                          "be diagnosed.", {"tickets_missing": len(ids)})


def tickets_without_diagnosis(con: duckdb.DuckDBPyConnection) -> Outcome:
    """Every ticket with features has a diagnosis in diagnosis.diagnoses: a stated cause or
    an explicit abstention (`abstained` true)."""
    if not table_exists(con, "diagnosis.diagnoses"):
        return Outcome.skipped("diagnosis.diagnoses not built yet (the diagnosis stage has "
                               "not run)")
    if not table_exists(con, "features.fct_ticket_features"):
        return Outcome.skipped("features.fct_ticket_features not built yet")
    if con.execute("SELECT count(*) FROM diagnosis.diagnoses").fetchall()[0][0] == 0:
        return Outcome.skipped("diagnosis.diagnoses is empty: the diagnosis stage has not run "
                               "yet")
    columns = columns_of(con, "diagnosis.diagnoses")
    causes = [c for c in ("cause", "root_cause") if c in columns]
    stated = " OR ".join(f"{_q(c)} IS NOT NULL" for c in causes) or "false"
    abstained = "coalesce(abstained, false)" if "abstained" in columns else "false"
    rows = con.execute(f"""
        SELECT f.ticket_id FROM features.fct_ticket_features AS f
        WHERE f.ticket_id NOT IN (
            SELECT ticket_id FROM diagnosis.diagnoses
            WHERE ticket_id IS NOT NULL AND ({stated} OR {abstained}))
        ORDER BY f.ticket_id""").fetchall()
    if not rows:
        return Outcome(True, "Every ticket has a diagnosis or an explicit abstention.",
                       {"tickets_missing": 0})
    ids = [r[0] for r in rows]
    return Outcome(False, f"{len(ids)} ticket(s) have neither a diagnosis nor an explicit "
                          f"abstention in diagnosis.diagnoses: ticket ids {_ids(ids)}. Run the "
                          "diagnosis stage for them.", {"tickets_missing": len(ids)})


def delivered_share_and_precision(con: duckdb.DuckDBPyConnection, models_dir: Path,
                                  floor: float) -> Outcome:
    """The newest model version's diagnoses deliver a cause for at least `floor` of their
    tickets, and that model's estimated precision (out of fold, in its metadata.json) meets its
    target. A model that abstains on (nearly) everything must not look like a working one."""
    if not table_exists(con, "diagnosis.diagnoses"):
        return Outcome.skipped("diagnosis.diagnoses not built yet (the diagnosis stage has "
                               "not run)")
    newest = con.execute("SELECT model_version FROM diagnosis.diagnoses "
                         "ORDER BY diagnosed_at DESC, model_version DESC LIMIT 1").fetchall()
    if not newest:
        return Outcome.skipped("diagnosis.diagnoses is empty: the diagnosis stage has not run "
                               "yet")
    version = newest[0][0]
    by_source = "decided_by" if "decided_by" in columns_of(con, "diagnosis.diagnoses") \
        else "CASE WHEN abstained THEN 'abstain' ELSE 'model' END"
    rows = con.execute(f"SELECT coalesce({by_source}, 'unknown'), count(*), "
                       "count(*) FILTER (WHERE NOT abstained) FROM diagnosis.diagnoses "
                       "WHERE model_version = ? GROUP BY 1 ORDER BY 1", [version]).fetchall()
    tickets = sum(r[1] for r in rows)
    delivered = sum(r[2] for r in rows)
    share = delivered / tickets if tickets else 0.0
    meta: dict[str, Any] = {
        "model_version": version, "tickets": tickets, "delivered": delivered,
        "delivered_share": round(share, 4), "min_delivered_share": floor,
        "decided_by": dg.MetadataValue.json({r[0]: r[1] for r in rows})}
    problems = []
    if share < floor:
        problems.append(f"model {version} delivered a cause for {delivered} of {tickets} "
                        f"tickets ({share:.1%}), under the floor of {floor:.0%} "
                        "(ALTOR_MIN_DELIVERED_SHARE); the rest abstained and escalate")
    decision = _model_decision(models_dir, version)
    if decision is not None:
        estimate = (decision.get("validation") or {}).get("estimated_precision")
        target = decision.get("target_precision")
        meta |= {"estimated_precision": estimate, "target_precision": target,
                 "abstained_causes": dg.MetadataValue.json(decision.get("abstained_causes"))}
        if estimate is not None and target is not None and estimate < target:
            problems.append(f"model {version}'s delivered diagnoses are estimated {estimate:.1%} "
                            f"right (out of fold), under the target {target:.0%}")
    if problems:
        return Outcome(False, "; ".join(problems) + ". See the triage model's metadata.json "
                              "(decision) for which causes abstain and why; retrain with more "
                              "labelled history or fix the features of those causes.", meta)
    return Outcome(True, f"Model {version} delivered a cause for {share:.1%} of {tickets} "
                         f"tickets (floor {floor:.0%}).", meta)


def _model_decision(models_dir: Path, version: str) -> dict[str, Any] | None:
    """The `decision` entry of a registered model's metadata (None: not a registered model,
    e.g. the rules stand-in, or registered before decisions were recorded per cause)."""
    try:
        decision = registry.read_metadata(Path(models_dir) / "triage", version).get("decision")
    except (ModelRegistryError, ValueError):
        return None
    return decision if isinstance(decision, dict) else None


def serving_model_matches(models_dir: Path, sql_dir: Path | None = None) -> Outcome:
    """The serving triage model (the registry's CURRENT version) was trained on the feature
    SQL and libraries installed now."""
    if importlib.util.find_spec("altor_pipelines.ml.registry") is None:
        return Outcome.skipped("the model registry (altor_pipelines.ml.registry) is not "
                               "built yet")

    root = Path(models_dir) / "triage"
    version = registry.current_version(root)
    if version is None:
        return Outcome.skipped(f"no triage model is serving yet ({root / 'CURRENT'} is "
                               "missing)")
    meta = registry.read_metadata(root, version)
    problems = (registry.compatibility_problems(meta, sql_dir) if sql_dir
                else registry.compatibility_problems(meta))
    info = {"model_version": version,
            "model_feature_sql_hash": str(meta.get("feature_sql_hash", ""))[:12]}
    if not problems:
        return Outcome(True, f"Triage model {version} matches the feature SQL and libraries.",
                       info)
    return Outcome(False, f"The serving triage model {version} does not match this code: "
                          + "; ".join(problems) + ". Diagnoses will be refused until it is "
                          "retrained (the retrain_triage_model job).", info)


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

    return _Check(dg.AssetCheckKey(SPINE_KEY, SPINE_CHECK),
                  "Every active customer (subscription not canceled, or traffic in the last "
                  "30 days) has a help-desk organization and a Stripe customer.", run)


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
