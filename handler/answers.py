"""The answers' shapes around the core's results, named once: every route, the OpenAPI document's
examples and the answer-size bound (handler.limits) build them here."""

from collections.abc import Iterable
from typing import Any

from model.predictor import Prediction, Predictions
from model.schema import envelope


def record_answer(predictions: Predictions, version: str) -> dict[str, Any]:
    """POST /predict: the one record's result."""
    [p] = predictions
    return {**p.as_dict(), **envelope(version)}


def batch_answer(predictions: Iterable[Prediction], version: str) -> dict[str, Any]:
    """POST /predict/batch: every record's result, in order."""
    records = [p.as_dict() for p in predictions]
    return {"predictions": records, "count": len(records), **envelope(version)}


def health_answer(version: str) -> dict[str, Any]:
    return {"status": "ok", "model_loaded": True, **envelope(version)}
