"""The analysts' HTML report as an asset: `metrics/escalation_report`, after the marts."""


from collections.abc import Iterable

import dagster as dg
from dagster import AssetExecutionContext

from altor_pipelines.defs.resources import WAREHOUSE_POOL, AltorResource
from altor_pipelines.reporting import build_report

REPORT_KEY = dg.AssetKey(["metrics", "escalation_report"])
REPORT_FILE = "escalation_report.html"


def report_asset(upstream_keys: Iterable[dg.AssetKey]) -> dg.AssetsDefinition:
    """The report, depending on every mart present (`marts/*`)."""
    deps = sorted((k for k in upstream_keys if k.path[0] == "marts"), key=lambda k: k.path)

    @dg.asset(
        key=REPORT_KEY,
        deps=deps,
        group_name="metrics",
        description="Escalation rate, first-contact resolution and investigation time before "
        "and after go-live, as one self-contained HTML page (reports/escalation_report.html).",
        kinds={"html"},
        owners=["team:data-platform"],
        pool=WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL),
    )
    def escalation_report(context: AssetExecutionContext, altor: AltorResource
                          ) -> dg.MaterializeResult:

        settings = altor.settings()
        if not settings.go_live:
            raise dg.Failure("ALTOR_GO_LIVE is not set: the report compares before and after "
                             "go-live, so it needs that date (ISO time, UTC).")
        out = settings.reports_dir / REPORT_FILE
        # Writable: build_report rebuilds the marts if they were built with another go-live.
        with altor.warehouse() as con:
            path = build_report(con, out, settings.go_live)
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "go_live": settings.go_live,
        })

    return escalation_report
