"""Metrics for analytics teams: the marts of sql/marts and the HTML report built from them."""

from altor_pipelines.reporting.marts import (
    METRIC_MODELS,
    build_metric_marts,
    ensure_diagnoses_table,
)
from altor_pipelines.reporting.report import build_report

__all__ = [
    "METRIC_MODELS",
    "build_metric_marts",
    "build_report",
    "ensure_diagnoses_table",
]
