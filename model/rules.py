"""Input rules from the data: hard rules reject a record, soft rules answer with warnings."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from model.errors import InputError, Violation
from model.schema import FEATURE_NAMES, INDEX, SE_OF_MEAN, WORST_OF_MEAN

FloatArray = NDArray[np.float64]


def _field(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


def value_violations(row: Sequence[float] | FloatArray, prefix: str = "") -> list[Violation]:
    """Hard rules on a complete numeric row in model order."""
    found: list[Violation] = []
    for name, value in zip(FEATURE_NAMES, row, strict=True):
        v, field = float(value), _field(prefix, name)
        if not math.isfinite(v):
            found.append(Violation(field, "finite", str(v), f"{field} must be a finite number, got {v}"))
        elif v < 0:
            message = f"{field} must be >= 0 (a size, count or ratio of an image), got {v}"
            found.append(Violation(field, "non_negative", v, message))
    if found:
        return found
    for mean_i, worst_i in WORST_OF_MEAN:
        mean, worst = float(row[mean_i]), float(row[worst_i])
        if worst < mean:
            field = _field(prefix, FEATURE_NAMES[worst_i])
            message = (
                f"{field} ({worst}) must be >= {_field(prefix, FEATURE_NAMES[mean_i])} ({mean}): the worst value "
                "is the mean of the three largest; check that the columns are not swapped"
            )
            found.append(Violation(field, "worst_at_least_mean", worst, message))
    return found


def check_rows(x: FloatArray, prefix: str = "") -> None:
    """Raise InputError listing every hard-rule violation of rows x; `prefix` may hold "{i}", the row index."""
    violations = [v for i, row in enumerate(x) for v in value_violations(row, prefix.format(i=i))]
    if violations:
        raise InputError(violations)


def soft_warnings(row: FloatArray, low: FloatArray, high: FloatArray) -> list[str]:
    """Plain-language warnings for values the model has little or no experience of."""
    warnings: list[str] = []
    for name, v, lo, hi in zip(FEATURE_NAMES, row, low, high, strict=True):
        if v < lo:
            warnings.append(f"{name}={v:g} is below the training minimum {lo:g}")
        elif v > hi:
            warnings.append(f"{name}={v:g} is above the training maximum {hi:g}")
    for stat in ("mean", "se", "worst"):
        concavity, points = row[INDEX[f"concavity_{stat}"]], row[INDEX[f"concave_points_{stat}"]]
        if (concavity == 0) != (points == 0):
            warnings.append(
                f"concavity_{stat} and concave_points_{stat} are zero together in all training rows; "
                f"here only one is ({concavity:g}, {points:g})"
            )
    for mean_i, se_i in SE_OF_MEAN:
        if row[se_i] > row[mean_i]:
            warnings.append(
                f"{FEATURE_NAMES[se_i]} ({row[se_i]:g}) exceeds {FEATURE_NAMES[mean_i]} "
                f"({row[mean_i]:g}); check the columns"
            )
    return warnings
