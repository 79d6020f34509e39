"""Powertools Logger and Metrics, created once. Feature values, bodies and results are never logged."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handler.settings import get_settings

_settings = get_settings()
logger = Logger(service=_settings.service_name, level=_settings.log_level)
metrics = Metrics(namespace=_settings.metrics_namespace, service=_settings.service_name)


def record_predictions(benign: int, malignant: int, indeterminate: int, out_of_distribution: int) -> None:
    metrics.add_metric(name="PredictionsBenign", unit=MetricUnit.Count, value=benign)
    metrics.add_metric(name="PredictionsMalignant", unit=MetricUnit.Count, value=malignant)
    metrics.add_metric(name="Indeterminate", unit=MetricUnit.Count, value=indeterminate)
    metrics.add_metric(name="OutOfDistribution", unit=MetricUnit.Count, value=out_of_distribution)


def record_latency(milliseconds: float) -> None:
    metrics.add_metric(name="PredictionLatency", unit=MetricUnit.Milliseconds, value=milliseconds)


def record_validation_error(*rules: str) -> None:
    """Count a rejected request; its rules (never its values) go to the log."""
    metrics.add_metric(name="ValidationErrors", unit=MetricUnit.Count, value=1)
    logger.info("request rejected", extra={"rules": sorted(set(rules))})
