"""The diagnosis stage: the triage classifier (retrained on demand or weekly, never on every
sync) and the diagnoses it serves. Thin wrappers over altor_pipelines.ml."""

from dataclasses import replace

import dagster as dg
from dagster import AssetExecutionContext

from altor_pipelines.clock import as_of, naive_utc
from altor_pipelines.defs.resources import WAREHOUSE_POOL, AltorResource
from altor_pipelines.ml.promote import build_triage_model
from altor_pipelines.ml.registry import registry_root
from altor_pipelines.ml.serve import build_diagnoses, tickets_to_diagnose
from altor_pipelines.ml.train import DEFAULT_TRAIN

TRIAGE_MODEL = dg.AssetKey(["diagnosis", "triage_model"])
DIAGNOSES = dg.AssetKey(["diagnosis", "diagnoses"])
FEATURE_INPUTS = [dg.AssetKey(["features", "fct_ticket_features"]),
                  dg.AssetKey(["heuristics", "rule_scores"])]


@dg.asset(
    key=TRIAGE_MODEL,
    deps=FEATURE_INPUTS,
    group_name="diagnosis",
    kinds={"scikitlearn"},
    owners=["team:data-science"],
    pool=WAREHOUSE_POOL,
    description="The triage classifier, trained on help-desk history (recorded root causes, "
    "label noise cleaned) before go-live, registered under models/triage/<version>/ and "
    "promoted only if not worse than the served one on the same held-out tickets.",
)
def triage_model(context: AssetExecutionContext, altor: AltorResource) -> dg.MaterializeResult:
    settings = altor.settings()
    config = replace(DEFAULT_TRAIN, min_delivered_share=settings.min_delivered_share)
    with altor.warehouse() as con:
        summary = build_triage_model(con, registry_root(settings),
                                     before=naive_utc(settings.go_live), config=config)
    for warning in summary["warnings"]:
        context.log.warning(f"WARNING: {warning}")
    return dg.MaterializeResult(metadata={
        "model_version": summary["version"],
        "promoted": summary["promoted"],
        "promotion_reason": summary["promotion_reason"],
        "training_rows": summary["rows"],
        "decided_by": dg.MetadataValue.json(summary["decided_by"]),
        "validation_delivered_share": summary["validation"].get("delivered_share"),
        "validation_estimated_precision": summary["validation"].get("estimated_precision"),
        "warnings": dg.MetadataValue.json(summary["warnings"]),
        "test_macro_f1": summary["test_macro_f1"],
        "rows_per_class": dg.MetadataValue.json(summary["rows_per_class"]),
    })


@dg.asset(
    key=DIAGNOSES,
    deps=[TRIAGE_MODEL, *FEATURE_INPUTS],
    group_name="diagnosis",
    kinds={"duckdb"},
    owners=["team:data-science"],
    pool=WAREHOUSE_POOL,
    description="One row per ticket per model version: the delivered cause or an abstention, "
    "calibrated probabilities, confidence band, escalate flag, rules fired, diagnosed-at.",
)
def diagnoses(context: AssetExecutionContext, altor: AltorResource) -> dg.MaterializeResult:
    settings = altor.settings()
    with altor.warehouse() as con:
        root = registry_root(settings)
        # only what the investigation rebuilt, and tickets the serving model has not scored
        ids = tickets_to_diagnose(con, root)
        summary = build_diagnoses(con, root, ticket_ids=ids, now=naive_utc(as_of(settings)))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": summary["rows"],
        "tickets_diagnosed": "every ticket" if ids is None else len(ids),
        "model_version": summary["model_version"] or "",
        "delivered": summary["delivered"],
        "abstained": summary["abstained"],
        "escalated": summary["escalated"],
        "by_model": summary["by_model"],
        "by_rule": summary["by_rule"],
        "delivered_share": summary["delivered_share"] or 0.0,
        "by_cause": dg.MetadataValue.json({str(k): v for k, v in summary["by_cause"].items()}),
        "seconds_per_1000_tickets": summary["seconds_per_1000_tickets"] or 0.0,
    })


def diagnosis_assets() -> list[dg.AssetsDefinition]:
    return [triage_model, diagnoses]
