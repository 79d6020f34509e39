"""Powertools Logger and Metrics, created once. Feature values, bodies and results are never logged."""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from handler.settings import DEFAULT_NAMESPACE, DEFAULT_SERVICE, SettingsError, get_settings
from model.predictor import Prediction


def _logging_settings() -> tuple[str, str, str]:
    """(service, level, namespace); the defaults when a setting is unusable, which init then reports."""
    try:
        s = get_settings()
    except SettingsError:
        return DEFAULT_SERVICE, "INFO", DEFAULT_NAMESPACE
    return s.service_name, s.log_level, s.metrics_namespace


_service, _level, _namespace = _logging_settings()
logger = Logger(service=_service, level=_level)
metrics = Metrics(namespace=_namespace, service=_service)


def record_served(predictions: Sequence[Prediction], milliseconds: float) -> None:
    """Counts by label and flag (zero counts are left out: CloudWatch sums what is there), and latency."""
    labels = [p.label for p in predictions]
    counts = {
        "PredictionsBenign": labels.count("benign"),
        "PredictionsMalignant": labels.count("malignant"),
        "Indeterminate": sum(p.indeterminate for p in predictions),
        "OutOfDistribution": sum(p.out_of_distribution for p in predictions),
    }
    for name, value in counts.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="PredictionLatency", unit=MetricUnit.Milliseconds, value=milliseconds)
    logger.info("predictions served", extra={"count": len(predictions), "latency_ms": round(milliseconds, 3)})


def record_validation_error(*rules: str) -> None:
    """Count a rejected request; its rules (never its values) go to the log."""
    metrics.add_metric(name="ValidationErrors", unit=MetricUnit.Count, value=1)
    logger.info("request rejected", extra={"rules": sorted(set(rules))})
