"""When things run: sync schedules per source, declarative automation downstream, weekly
retraining, the freshness checks, and the place where live-path sensors plug in.

- Every job carries the run tag `altor/pipeline` = its name; deploy/dagster.yaml's run
  coordinator allows one run per tag value, so one pipeline never runs twice at once. Steps
  that write DuckDB (or use chDB) also share a pool of one (see resources.py).
- Schedules and the automation sensor start STOPPED: opening the UI over a warehouse only reads
  it. Turn them on in the UI (Automation) or with `dagster schedule start --start-all` /
  `dagster sensor start altor_automation`.
- Retries with backoff are on the assets themselves (`RetryPolicy` in ingest.py and
  sql_models.py): a transient vendor or file-lock error retries the step, not the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from altor_pipelines.defs.checks import FRESH_CHECK, SYNC_EVERY_MINUTES, check_keys

PIPELINE_TAG = "altor/pipeline"
TRIAGE_MODEL_KEY = dg.AssetKey(["diagnosis", "triage_model"])
# Cron per source (UTC). Offsets spread the syncs over the hour so they do not all queue for
# the warehouse at :00. ClickHouse runs a minute after each 5-minute boundary: its source only
# fetches closed (settled) windows, so each run picks up the window that just closed.
SYNC_CRON: dict[str, str] = {
    "zendesk": "*/5 * * * *",
    "stripe": "3-59/15 * * * *",
    "linear": "2-59/10 * * * *",
    "github": "7-59/10 * * * *",
    "clickhouse": "1-59/5 * * * *",
}
RETRAIN_CRON = "0 3 * * 1"  # Mondays 03:00 UTC
FRESHNESS_CRON = "*/10 * * * *"
MARTS_CRON = "15 * * * *"  # marts and the report: hourly, after the syncs have settled
# Groups whose assets follow their inputs as soon as all of them are there (eager), and
# groups rebuilt on a clock (on_cron) because analysts read them, not the live path.
EAGER_GROUPS = ("staging", "features", "diagnosis")
CRON_GROUPS = ("metrics",)
AUTOMATION_SENSOR = "altor_automation"


def _tags(name: str) -> dict[str, str]:
    return {PIPELINE_TAG: name}


def with_automation(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The assets with declarative automation set on every stage after ingest: eager for
    staging/features/diagnosis, hourly for metrics. The triage model is left to its weekly
    schedule, ingest to its sync schedules; a condition an asset already has is kept."""

    def condition(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.automation_condition is not None or spec.key == TRIAGE_MODEL_KEY:
            return spec
        if spec.group_name in EAGER_GROUPS:
            return spec.replace_attributes(automation_condition=dg.AutomationCondition.eager())
        if spec.group_name in CRON_GROUPS:
            return spec.replace_attributes(
                automation_condition=dg.AutomationCondition.on_cron(MARTS_CRON))
        return spec

    return list(dg.map_asset_specs(condition, assets))


def ingest_jobs(ingest: Iterable[dg.AssetsDefinition]) -> list[dg.UnresolvedAssetJobDefinition]:
    """One job per source, selecting that source's multi-asset (and its checks)."""
    jobs = []
    for assets in ingest:
        source = next(iter(assets.keys)).path[0].removeprefix("raw_")
        name = f"ingest_{source}"
        jobs.append(dg.define_asset_job(
            name, selection=dg.AssetSelection.assets(*assets.keys),
            description=f"Sync {source} into raw_{source} (incremental, merge on primary keys).",
            tags=_tags(name), executor_def=dg.in_process_executor))
    return jobs


def sync_schedules(jobs: Iterable[dg.UnresolvedAssetJobDefinition]
                   ) -> list[dg.ScheduleDefinition]:
    schedules = []
    for job in jobs:
        source = job.name.removeprefix("ingest_")
        schedules.append(dg.ScheduleDefinition(
            name=f"{job.name}_schedule", job=job, cron_schedule=SYNC_CRON[source],
            execution_timezone="UTC", tags=_tags(job.name),
            description=f"Sync {source} every {SYNC_EVERY_MINUTES[source]} minutes.",
            default_status=dg.DefaultScheduleStatus.STOPPED))
    return schedules


def retrain_definitions(asset_keys: set[dg.AssetKey]
                        ) -> tuple[list[dg.UnresolvedAssetJobDefinition],
                                   list[dg.ScheduleDefinition]]:
    """The weekly retraining job and schedule, when the `diagnosis/triage_model` asset exists
    (before it does, nothing is defined, so loading never breaks). Launch the job by hand in
    the UI to retrain on demand."""
    if TRIAGE_MODEL_KEY not in asset_keys:
        return [], []
    name = "retrain_triage_model"
    job = dg.define_asset_job(
        name, selection=dg.AssetSelection.assets(TRIAGE_MODEL_KEY),
        description="Retrain the triage classifier on labelled history; promote it only if "
        "it is not worse than the serving model.",
        tags=_tags(name), executor_def=dg.in_process_executor)
    schedule = dg.ScheduleDefinition(
        name=f"{name}_weekly", job=job, cron_schedule=RETRAIN_CRON, execution_timezone="UTC",
        tags=_tags(name), description="Retrain the triage model every Monday 03:00 UTC.",
        default_status=dg.DefaultScheduleStatus.STOPPED)
    return [job], [schedule]


def freshness_definitions(checks: Iterable[dg.AssetChecksDefinition]
                          ) -> tuple[list[dg.UnresolvedAssetJobDefinition],
                                     list[dg.ScheduleDefinition]]:
    """A job running only the sources' freshness checks, every 10 minutes: a sync that stops
    running produces no materialisation, so its own checks would never notice."""
    keys = check_keys(checks, FRESH_CHECK)
    if not keys:
        return [], []
    name = "source_freshness"
    job = dg.define_asset_job(
        name, selection=dg.AssetSelection.checks(*keys),
        description="Check that every source was synced recently (no asset is materialised).",
        tags=_tags(name), executor_def=dg.in_process_executor)
    schedule = dg.ScheduleDefinition(
        name=f"{name}_schedule", job=job, cron_schedule=FRESHNESS_CRON,
        execution_timezone="UTC", tags=_tags(name),
        description="Run the source freshness checks every 10 minutes.",
        default_status=dg.DefaultScheduleStatus.STOPPED)
    return [job], [schedule]


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the assets' automation conditions every 30 s and launches the runs."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR, target=dg.AssetSelection.all(), run_tags=_tags("automation"),
        minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
        description="Declarative automation: staging, features and diagnoses follow their "
        "inputs; marts and the report rebuild hourly.")


def live_sensors(asset_keys: set[dg.AssetKey]) -> list[dg.SensorDefinition]:
    """Sensors of the live path (new tickets investigated as they arrive).

    The live-ticket sensor of issue [E] goes here: build it from `asset_keys` (only when the
    assets it targets exist), tag its runs with `_tags("live")`, and return it in this list;
    definitions.py already adds whatever this returns.
    """
    return []


def automation_definitions(
    ingest: Sequence[dg.AssetsDefinition],
    asset_keys: set[dg.AssetKey],
    checks: Sequence[dg.AssetChecksDefinition],
) -> dict[str, list]:
    """Jobs, schedules and sensors, as keyword arguments of `dg.Definitions`."""
    jobs = ingest_jobs(ingest)
    schedules = sync_schedules(jobs)
    for extra_jobs, extra_schedules in (retrain_definitions(asset_keys),
                                        freshness_definitions(checks)):
        jobs += extra_jobs
        schedules += extra_schedules
    full = dg.define_asset_job(
        "materialize_all", selection=dg.AssetSelection.all(),
        description="Everything, in dependency order.",
        tags=_tags("materialize_all"), executor_def=dg.in_process_executor)
    batch = dg.define_asset_job(
        "batch_pipeline",
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups("delivery"),
        description="Sync, investigate, diagnose and measure every ticket, without writing "
        "to the help desk (what `altor demo run` does over the demo's history).",
        tags=_tags("batch_pipeline"), executor_def=dg.in_process_executor)
    return {"jobs": [*jobs, full, batch], "schedules": schedules,
            "sensors": [automation_sensor(), *live_sensors(asset_keys)]}
