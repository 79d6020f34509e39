"""Input rules from the data: hard rules reject a record, soft rules answer with warnings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from model.errors import InputError, Violation
from model.schema import FEATURE_NAMES, INDEX, N_FEATURES, SE_OF_MEAN, WORST_OF_MEAN

FloatArray = NDArray[np.float64]


def _field(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


def value_violations(row: Sequence[float] | FloatArray, prefix: str = "") -> list[Violation]:
    """Hard rules on a complete numeric row in model order."""
    found: list[Violation] = []
    for name, value in zip(FEATURE_NAMES, row, strict=True):
        v = float(value)
        if not math.isfinite(v):
            found.append(Violation(_field(prefix, name), "finite", str(v), f"{name} must be a finite number, got {v}"))
        elif v < 0:
            found.append(
                Violation(
                    _field(prefix, name),
                    "non_negative",
                    v,
                    f"{name} must be >= 0 (a size, count or ratio of an image), got {v}",
                )
            )
    if found:
        return found
    for mean_i, worst_i in WORST_OF_MEAN:
        mean, worst = float(row[mean_i]), float(row[worst_i])
        if worst < mean:
            worst_name, mean_name = FEATURE_NAMES[worst_i], FEATURE_NAMES[mean_i]
            found.append(
                Violation(
                    _field(prefix, worst_name),
                    "worst_at_least_mean",
                    worst,
                    f"{worst_name} ({worst}) must be >= {mean_name} ({mean}): the worst value is the "
                    "mean of the three largest; check that the columns are not swapped",
                )
            )
    return found


def _number(value: object, field: str) -> tuple[float | None, Violation | None]:
    # bool is an int in Python, but true/false is never a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "null" if value is None else type(value).__name__
        shown = value if isinstance(value, str | bool | int | float) or value is None else kind
        return None, Violation(field, "type", shown, f"{field} must be a number, got {kind} {shown!r}")
    return float(value), None


def parse_record(record: Mapping[str, object], prefix: str = "") -> FloatArray:
    """A JSON-like mapping of canonical names to numbers -> a row in model order, or InputError."""
    found: list[Violation] = []
    unknown = sorted(set(record) - set(INDEX))
    missing = [name for name in FEATURE_NAMES if name not in record]
    for name in unknown:
        found.append(
            Violation(
                _field(prefix, name),
                "known_feature",
                name,
                f"unknown feature {name!r}; expected the {N_FEATURES} names in GET /model, "
                "for example 'radius_mean' or 'concave_points_worst'",
            )
        )
    if missing:
        found.append(
            Violation(
                _field(prefix, missing[0]),
                "required",
                None,
                f"expected {N_FEATURES} features, got {N_FEATURES - len(missing)}; missing: {missing}",
            )
        )
    row = np.zeros(N_FEATURES)
    for name in FEATURE_NAMES:
        if name in record:
            number, problem = _number(record[name], _field(prefix, name))
            if problem is not None:
                found.append(problem)
            elif number is not None:
                row[INDEX[name]] = number
    if not found:
        found = value_violations(row, prefix)
    if found:
        raise InputError(found)
    return row


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
