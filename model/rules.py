"""Input rules from the data: hard rules reject a record, soft rules answer with warnings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from model.arrays import FloatArray
from model.errors import InputError, Violation
from model.schema import FEATURE_NAMES, INDEX, SE_OF_MEAN, STATISTIC_NAMES, WORST_OF_MEAN

# Warnings listed per record; past this the rest are counted, so that an answer's size stays bounded.
MAX_WARNINGS = 10


class CrossFieldRule(NamedTuple):
    """A hard rule between two features, which JSON Schema cannot state: `field` >= `at_least`."""

    rule: str
    field: str
    at_least: str
    reason: str


# Each *_worst is the mean of the three largest values, so never below its *_mean (true on all 569 rows).
CROSS_FIELD_RULES: tuple[CrossFieldRule, ...] = tuple(
    CrossFieldRule(
        "worst_at_least_mean",
        FEATURE_NAMES[worst],
        FEATURE_NAMES[mean],
        "the worst value is the mean of the three largest; check that the columns are not swapped",
    )
    for mean, worst in WORST_OF_MEAN
)
_CONCAVITY = np.array([INDEX[f"concavity_{stat}"] for stat in STATISTIC_NAMES])
_POINTS = np.array([INDEX[f"concave_points_{stat}"] for stat in STATISTIC_NAMES])
_MEANS, _WORSTS = (np.array(indices) for indices in zip(*WORST_OF_MEAN, strict=True))
_SE_MEANS, _SES = (np.array(indices) for indices in zip(*SE_OF_MEAN, strict=True))


def _field(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix else name


def violations(x: FloatArray, prefix: str = "") -> list[Violation]:
    """Hard rules on rows x (n, 30) in model order; `prefix` may hold "{i}", the row index.

    Vectorised over the rows: only offending cells cost Python work.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if np.isfinite(x).all() and (x >= 0).all() and (x[:, _WORSTS] >= x[:, _MEANS]).all():
        return []  # the common case, in four array operations
    found: list[Violation] = []
    with np.errstate(invalid="ignore"):
        not_finite = ~np.isfinite(x)
        negative = x < 0
    bad_rows = (not_finite | negative).any(axis=1)
    for i, j in zip(*np.nonzero(not_finite | negative), strict=True):
        v, field = float(x[i, j]), _field(prefix.format(i=i), FEATURE_NAMES[j])
        if not_finite[i, j]:
            found.append(Violation(field, "finite", str(v), f"{field} must be a finite number, got {v}"))
        else:
            message = f"{field} must be >= 0 (a size, count or ratio of an image), got {v}"
            found.append(Violation(field, "non_negative", v, message))
    swapped = (x[:, _WORSTS] < x[:, _MEANS]) & ~bad_rows[:, None]
    for i, k in zip(*np.nonzero(swapped), strict=True):
        row_prefix, rule = prefix.format(i=i), CROSS_FIELD_RULES[k]
        mean, worst = float(x[i, _MEANS[k]]), float(x[i, _WORSTS[k]])
        field = _field(row_prefix, rule.field)
        message = f"{field} ({worst}) must be >= {_field(row_prefix, rule.at_least)} ({mean}): {rule.reason}"
        found.append(Violation(field, rule.rule, worst, message))
    return found


def check_rows(x: FloatArray, prefix: str = "") -> None:
    """Raise InputError listing every hard-rule violation of rows x; `prefix` may hold "{i}", the row index."""
    found = violations(x, prefix)
    if found:
        raise InputError(found)


def soft_warnings(
    x: FloatArray, low: FloatArray, high: FloatArray, first: Sequence[list[str]] | None = None
) -> list[list[str]]:
    """Plain-language warnings, per row, for values the model has little or no experience of.

    `first` holds warnings that lead each row's list (the out-of-distribution check's words).
    """
    x = np.atleast_2d(x)
    zero = x == 0
    flags = np.concatenate(
        [x < low, x > high, zero[:, _CONCAVITY] != zero[:, _POINTS], x[:, _SES] > x[:, _SE_MEANS]], axis=1
    )
    result: list[list[str]] = [list(w) for w in first] if first is not None else [[] for _ in range(len(x))]
    d = len(FEATURE_NAMES)
    for i in np.flatnonzero(flags.any(axis=1)):
        row, warnings = x[i], result[i]
        for k in np.flatnonzero(flags[i]):
            if k < 2 * d:
                j = k % d
                word, limit, bound = ("below", "minimum", low[j]) if k < d else ("above", "maximum", high[j])
                warnings.append(f"{FEATURE_NAMES[j]}={row[j]:g} is {word} the training {limit} {bound:g}")
            elif k < 2 * d + len(_CONCAVITY):
                s = k - 2 * d
                stat = STATISTIC_NAMES[s]
                warnings.append(
                    f"concavity_{stat} and concave_points_{stat} are zero together in all training rows; "
                    f"here only one is ({row[_CONCAVITY[s]]:g}, {row[_POINTS[s]]:g})"
                )
            else:
                s = k - 2 * d - len(_CONCAVITY)
                se, mean = _SES[s], _SE_MEANS[s]
                warnings.append(
                    f"{FEATURE_NAMES[se]} ({row[se]:g}) exceeds {FEATURE_NAMES[mean]} ({row[mean]:g}); "
                    "check the columns"
                )
    for warnings in result:
        if len(warnings) > MAX_WARNINGS:
            rest = len(warnings) - (MAX_WARNINGS - 1)
            del warnings[MAX_WARNINGS - 1 :]
            warnings.append(f"and {rest} more warnings of these kinds: the record lies far outside the training data")
    return result
