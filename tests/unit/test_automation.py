"""Schedules, sensors, jobs and declarative automation of the loaded Definitions."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from altor_pipelines.defs import automation
from altor_pipelines.defs.resources import AltorResource
from altor_pipelines.sources.sync import SOURCE_TABLES
from altor_pipelines.warehouse.sql_runner import SQL_LAYERS


@pytest.fixture(scope="module")
def loaded() -> dg.Definitions:
    from altor_pipelines.definitions import defs

    return defs() if callable(defs) else defs


def test_every_schedule_evaluates_to_a_tagged_run_request(loaded, tmp_path) -> None:
    assert loaded.schedules, "no schedules defined"
    repo = loaded.get_repository_def()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for schedule in loaded.schedules:
            assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
            context = dg.build_schedule_context(
                instance=instance, scheduled_execution_time=datetime(2026, 3, 2, 3, 0,
                                                                     tzinfo=UTC),
                repository_def=repo)
            result = schedule.evaluate_tick(context)
            assert result.skip_message is None, schedule.name
            assert len(result.run_requests) == 1, schedule.name
            request = result.run_requests[0]
            assert request.tags[automation.PIPELINE_TAG] == schedule.job_name, schedule.name
            assert repo.get_job(schedule.job_name)  # the target resolves


def test_every_sensor_evaluates(loaded, tmp_path) -> None:
    repo = loaded.get_repository_def()
    assert {s.name for s in loaded.sensors} >= {automation.AUTOMATION_SENSOR}
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for sensor in loaded.sensors:
            assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
            if isinstance(sensor, dg.AutomationConditionSensorDefinition):
                continue  # evaluated by the daemon; see the test below
            # Against the demo settings with no help desk running: a sensor must skip with a
            # reason, not fail.
            result = sensor.evaluate_tick(dg.build_sensor_context(
                instance=instance, repository_def=repo, resources={"altor": AltorResource()}))
            assert all(r.tags.get(automation.PIPELINE_TAG) for r in result.run_requests)


def test_automation_sensor_runs_staging_once_its_raw_inputs_are_new(loaded, tmp_path) -> None:
    sensor = next(s for s in loaded.sensors if s.name == automation.AUTOMATION_SENSOR)
    assert sensor.run_tags[automation.PIPELINE_TAG] == "automation"
    graph = loaded.resolve_asset_graph()
    tickets = dg.AssetKey(["staging", "stg_zendesk__tickets"])
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        first = dg.evaluate_automation_conditions(defs=loaded, instance=instance,
                                                  asset_selection=sensor.asset_selection)
        assert first.total_requested == 0  # nothing loaded: nothing to rebuild
        for dep in graph.get(tickets).parent_keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(dep))
        second = dg.evaluate_automation_conditions(
            defs=loaded, instance=instance, asset_selection=sensor.asset_selection,
            cursor=first.cursor)
        assert second.get_num_requested(tickets) == 1
        downstream = dg.AssetKey(["features", "fct_ticket_features"])
        assert second.get_num_requested(downstream) == 0  # its own inputs are not there yet


def test_each_source_has_a_schedule_at_its_interval(loaded) -> None:
    by_job = {s.job_name: s for s in loaded.schedules}
    expected = {"zendesk": "*/5 * * * *", "stripe": "3-59/15 * * * *",
                "linear": "2-59/10 * * * *", "github": "7-59/10 * * * *",
                "clickhouse": "1-59/5 * * * *"}
    assert set(SOURCE_TABLES) == set(expected)
    for source, cron in expected.items():
        assert by_job[f"ingest_{source}"].cron_schedule == cron


def test_every_job_carries_the_pipeline_tag_and_ingest_jobs_select_their_source(loaded) -> None:
    repo = loaded.get_repository_def()
    jobs = [j for j in repo.get_all_jobs() if not j.name.startswith("__")]
    assert {f"ingest_{s}" for s in SOURCE_TABLES} <= {j.name for j in jobs}
    for job in jobs:
        assert job.run_tags.get(automation.PIPELINE_TAG) == job.name, job.name
    zendesk = repo.get_job("ingest_zendesk")
    assert {n.name for n in zendesk.graph.node_defs} == {"sync_zendesk", "raw_zendesk_checks"}
    freshness = repo.get_job("source_freshness")
    assert {n.name for n in freshness.graph.node_defs} == {
        f"raw_{s}_checks" for s in SOURCE_TABLES}


def test_downstream_stages_follow_their_inputs_and_ingest_follows_schedules(loaded) -> None:
    graph = loaded.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        condition = node.automation_condition
        if key.path[0].startswith("raw_"):
            assert condition is None, key
        elif node.group_name in ("staging", "features"):
            assert condition is not None and "eager" in condition.get_label().lower(), key
        elif node.group_name == "metrics":
            assert condition is not None and "cron" in condition.get_label().lower(), key


def test_retries_with_backoff_are_on_every_ingest_and_sql_asset(loaded) -> None:
    for assets in loaded.assets:
        if not isinstance(assets, dg.AssetsDefinition) or assets.node_def is None:
            continue
        layer = next(iter(assets.keys)).path[0]
        if not (layer.startswith("raw_") or layer in SQL_LAYERS):
            continue  # other stages choose their own policy
        policy = assets.op.retry_policy
        assert policy is not None and policy.backoff == dg.Backoff.EXPONENTIAL, assets.keys


def test_retraining_is_weekly_when_the_triage_model_exists_and_absent_otherwise() -> None:
    @dg.asset(key=automation.TRIAGE_MODEL_KEY)
    def triage_model() -> None: ...

    jobs, schedules = automation.retrain_definitions({automation.TRIAGE_MODEL_KEY})
    assert [j.name for j in jobs] == ["retrain_triage_model"]
    assert schedules[0].cron_schedule == automation.RETRAIN_CRON
    defs = dg.Definitions(assets=[triage_model], jobs=jobs, schedules=schedules)
    job = defs.get_repository_def().get_job("retrain_triage_model")
    assert job.run_tags[automation.PIPELINE_TAG] == "retrain_triage_model"
    assert automation.retrain_definitions(set()) == ([], [])


def test_the_triage_model_keeps_to_its_schedule() -> None:
    @dg.asset(key=automation.TRIAGE_MODEL_KEY, group_name="diagnosis")
    def triage_model() -> None: ...

    @dg.asset(key=["diagnosis", "diagnoses"], group_name="diagnosis")
    def diagnoses() -> None: ...

    out = {next(iter(a.keys)): a for a in automation.with_automation([triage_model, diagnoses])}
    assert out[automation.TRIAGE_MODEL_KEY].automation_conditions_by_key.get(
        automation.TRIAGE_MODEL_KEY) is None
    assert out[dg.AssetKey(["diagnosis", "diagnoses"])].automation_conditions_by_key.get(
        dg.AssetKey(["diagnosis", "diagnoses"])) is not None


def test_live_sensors_have_their_place() -> None:
    assert automation.live_sensors(set()) == []
