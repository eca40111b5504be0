"""Delivery in Dagster: the write-back asset and the live path (job + sensor).

- `delivery/helpdesk_writeback` (group `delivery`): writes the latest diagnoses of tickets
  created since go-live as internal notes + tags (delivery.writeback.deliver); idempotent, so
  it can follow `diagnosis/diagnoses` eagerly.
- `live_ticket_job`: one live cycle (delivery.live.live_cycle): sync -> features for the new
  tickets only -> diagnose -> write back.
- `live_ticket_sensor`: every 10 s asks the help desk's cursor-based incremental export
  (one cheap request from the cursor it keeps) whether tickets were created since its last
  look, and if so requests a `live_ticket_job` run keyed by the newest ticket id.

`delivery_definitions(asset_keys)` returns all three for definitions.py.
"""

import json
from collections.abc import Iterable
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext, OpExecutionContext, SensorEvaluationContext

from altor_pipelines.clock import as_of, naive_utc
from altor_pipelines.defs.resources import WAREHOUSE_POOL, AltorResource
from altor_pipelines.delivery.live import live_cycle, new_tickets_since
from altor_pipelines.delivery.writeback import deliver, writeback_client
from altor_pipelines.delivery.writeback_plan import WritebackConfig

DIAGNOSES_KEY = dg.AssetKey(["diagnosis", "diagnoses"])
WRITEBACK_KEY = dg.AssetKey(["delivery", "helpdesk_writeback"])
LIVE_JOB = "live_ticket_job"
LIVE_SENSOR = "live_ticket_sensor"
LIVE_TAGS = {"altor/pipeline": LIVE_JOB}  # one live cycle at a time


def helpdesk_writeback_asset(asset_keys: Iterable[dg.AssetKey] = ()) -> dg.AssetsDefinition:
    deps = [DIAGNOSES_KEY] if DIAGNOSES_KEY in set(asset_keys) else []

    @dg.asset(
        key=WRITEBACK_KEY,
        deps=deps,
        group_name="delivery",
        kinds={"duckdb", "zendesk"},
        owners=["team:data-platform"],
        pool=WAREHOUSE_POOL,
        description="The latest diagnosis of every open ticket since go-live as an "
        "internal note + tags in the help desk (idempotent; failures retried next run). "
        "Table delivery.writebacks.",
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    )
    def helpdesk_writeback(
        context: AssetExecutionContext, altor: AltorResource
    ) -> dg.MaterializeResult:

        settings = altor.settings()
        config = WritebackConfig(since=naive_utc(settings.go_live))
        with altor.warehouse() as con:
            result = deliver(con, writeback_client(settings, config), config, as_of=as_of(settings))
            pending = con.execute(
                "SELECT count(*) FROM delivery.writebacks WHERE status IN ('pending', 'failed')"
            ).fetchall()[0][0]
        meta = {**result.as_dict(), "pending_after_run": pending}
        return dg.MaterializeResult(
            metadata={k: dg.MetadataValue.int(int(v)) for k, v in meta.items()}
        )

    return helpdesk_writeback


@dg.op(tags=LIVE_TAGS, pool=WAREHOUSE_POOL)
def live_cycle_op(context: OpExecutionContext, altor: AltorResource) -> dict[str, Any]:
    result = live_cycle(altor.settings())
    summary = result.summary()
    context.add_output_metadata({"summary": dg.MetadataValue.json(summary)})
    return summary


@dg.job(
    name=LIVE_JOB,
    tags=LIVE_TAGS,
    executor_def=dg.in_process_executor,
    description="One live cycle: sync, features for the new tickets only, diagnose, "
    "write back (altor_pipelines.delivery.live.live_cycle).",
)
def live_ticket_job() -> None:
    live_cycle_op()


@dg.sensor(
    name=LIVE_SENSOR,
    job_name=LIVE_JOB,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New help-desk tickets (cursor-based incremental export) -> one live "
    "cycle: their notes appear within seconds.",
)
def live_ticket_sensor(
    context: SensorEvaluationContext, altor: AltorResource
) -> dg.SensorResult | dg.SkipReason:

    settings = altor.settings()
    cursor = json.loads(context.cursor) if context.cursor else {}
    try:
        ids, new_cursor = new_tickets_since(writeback_client(settings), cursor, as_of(settings))
    except Exception as exc:  # noqa: BLE001 - the sensor must not die on a help-desk hiccup
        return dg.SkipReason(f"help desk not reachable: {type(exc).__name__}")
    if not ids:
        context.update_cursor(json.dumps(new_cursor))
        return dg.SkipReason("no new tickets")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"live-{ids[-1]}", tags={**LIVE_TAGS, "altor/new_tickets": str(len(ids))}
            )
        ],
        cursor=json.dumps(new_cursor),
    )


def delivery_definitions(asset_keys: Iterable[dg.AssetKey] = ()) -> dict[str, list]:
    """Keyword arguments for `dg.Definitions`: the write-back asset, the live job, the sensor."""
    return {
        "assets": [helpdesk_writeback_asset(asset_keys)],
        "jobs": [live_ticket_job],
        "sensors": [live_ticket_sensor],
    }
