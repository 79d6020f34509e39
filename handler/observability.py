"""Powertools Logger and Metrics, created once. Feature values, bodies and results are never logged."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handler.settings import get_settings

_settings = get_settings()
logger = Logger(service=_settings.service_name, level=_settings.log_level)
metrics = Metrics(namespace=_settings.metrics_namespace, service=_settings.service_name)


def record_predictions(benign: int, malignant: int, indeterminate: int, out_of_distribution: int) -> None:
    """Counts by label and flag; zero counts are left out (CloudWatch sums what is there)."""
    counts = {
        "PredictionsBenign": benign,
        "PredictionsMalignant": malignant,
        "Indeterminate": indeterminate,
        "OutOfDistribution": out_of_distribution,
    }
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_latency(milliseconds: float) -> None:
    metrics.add_metric(name="PredictionLatency", unit=MetricUnit.Milliseconds, value=milliseconds)


def record_validation_error(*rules: str) -> None:
    """Count a rejected request; its rules (never its values) go to the log."""
    metrics.add_metric(name="ValidationErrors", unit=MetricUnit.Count, value=1)
    logger.info("request rejected", extra={"rules": sorted(set(rules))})
