"""Powertools Logger and Metrics, created once. Feature values, bodies and results are never logged.

A request that succeeds writes nothing of its own at the default level: Lambda's own metrics count
invocations and their duration, and labels, flags, drift and the app's latency are counted in a
DriftWindow and written as one aggregated line once the window is full (see model.drift). What is
written per invocation reveals nothing of the person: a cold start, and the rules a rejected request
broke.
"""

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from handler.settings import DEFAULT_NAMESPACE, DEFAULT_SERVICE, SettingsError, get_settings
from model.drift import DriftWindow, Results, WindowReport
from model.predictor import Predictions


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


def record_predictions(predictions: Predictions, milliseconds: float, window: DriftWindow) -> None:
    """Latency, labels, flags and drift into the window, written only when it is full."""
    logger.debug("predictions served", extra={"count": len(predictions), "latency_ms": round(milliseconds, 3)})
    p = predictions
    results = Results(p.probability, p.malignant, p.indeterminate, p.out_of_distribution)
    report = window.add(p.x, results, milliseconds)
    if report is not None:
        write_window(report)


def write_window(report: WindowReport) -> None:
    """One EMF line: five headline metrics, and every per-feature figure as a field for Logs Insights."""
    line = EphemeralMetrics(namespace=_namespace, service=_service)
    n = report.predictions
    line.add_metric(name="MalignantShare", unit=MetricUnit.Percent, value=100 * report.counts["malignant"] / n)
    line.add_metric(
        name="OutOfDistributionRate", unit=MetricUnit.Percent, value=100 * report.counts["out_of_distribution"] / n
    )
    line.add_metric(name="IndeterminateRate", unit=MetricUnit.Percent, value=100 * report.counts["indeterminate"] / n)
    line.add_metric(name="LargestFeaturePsi", unit=MetricUnit.NoUnit, value=report.largest_psi[1])
    line.add_metric(name="EstimatedAccuracy", unit=MetricUnit.Percent, value=100 * report.estimated["accuracy"])
    for key, value in report.fields().items():
        line.add_metadata(key=key, value=value)
    line.flush_metrics()


def record_validation_error(*rules: str) -> None:
    """Count a rejected request; its rules (never its values) go to the log."""
    metrics.add_metric(name="ValidationErrors", unit=MetricUnit.Count, value=1)
    logger.info("request rejected", extra={"rules": sorted(set(rules))})


def flush(cold_start: bool) -> None:
    """Write the invocation's metrics, if it has any: a cold start, a rejected request. Otherwise nothing."""
    if cold_start:
        metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
    if metrics.metric_set:
        metrics.flush_metrics()


class InitPhases:
    """How long each phase of init took (ms), written once, at DEBUG, after the first request."""

    def __init__(self, started: float) -> None:
        self.last = started
        self.ms: dict[str, float] = {}

    def mark(self, phase: str) -> None:
        """End `phase` now; the next phase starts here."""
        now = time.perf_counter()
        self.ms[phase] = round((now - self.last) * 1e3, 2)
        self.last = now

    def add(self, phase: str, milliseconds: float) -> None:
        self.ms[phase] = round(milliseconds, 2)

    def write(self) -> None:
        logger.debug("init phases", extra={"init_phases_ms": self.ms})
