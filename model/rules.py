"""Input rules from the data: hard rules reject a record, soft rules answer with warnings."""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from model.arrays import FloatArray
from model.errors import InputError, Violation
from model.schema import FEATURE_NAMES, FEATURES, INDEX, STATISTIC_NAMES

# Warnings listed per record; past this the rest are counted, so that an answer's size stays bounded.
MAX_WARNINGS = 10


class Rule(NamedTuple):
    """One input rule, declared once: the check, the messages, the OpenAPI document's list of rules, the
    page's hints and the tests' data generators all read it.

    `relation` names what must hold, and is implemented once per language (here and in the page):
    "finite" and "non_negative" for each value; for each pair (field, other) "at_least" (field >= other),
    "at_most" (field <= other) and "zero_together" (both zero or neither); "in_training_range" for each
    value against the training minimum and maximum.
    """

    name: str
    hard: bool  # hard: the record is refused (422 / 400); soft: answered, with a warning
    relation: str
    pairs: tuple[tuple[str, str], ...]  # (field, other), for a relation between two features
    hint: str  # beside a field, for a person: "{other}" is the other feature
    reason: str  # why the rule holds, for the message and the documents


def _pairs(field: str, other: str) -> tuple[tuple[str, str], ...]:
    """(field, other) for each of the ten measurements, as "{m}_worst", "{m}_mean" say."""
    measurements = dict.fromkeys(f.measurement for f in FEATURES)
    return tuple((field.format(m=m), other.format(m=m)) for m in measurements)


FINITE = Rule("finite", True, "finite", (), "must be a finite number", "JSON numbers are finite")
NON_NEGATIVE = Rule(
    "non_negative",
    True,
    "non_negative",
    (),
    "must be >= 0",
    "a size, count or ratio of an image",
)
# Each *_worst is the mean of the three largest values, so never below its *_mean (true on all 569 rows).
WORST_AT_LEAST_MEAN = Rule(
    "worst_at_least_mean",
    True,
    "at_least",
    _pairs("{m}_worst", "{m}_mean"),
    "must be >= {other}",
    "the worst value is the mean of the three largest; check that the columns are not swapped",
)
IN_TRAINING_RANGE = Rule(
    "in_training_range", False, "in_training_range", (), "outside the training data", "the model has seen no such value"
)
# Concavity and concave points are zero together in all 13 training rows where either is.
ZERO_TOGETHER = Rule(
    "concavity_zero_with_concave_points",
    False,
    "zero_together",
    tuple((f"concavity_{s}", f"concave_points_{s}") for s in STATISTIC_NAMES),
    "zero together with {other} in all training rows",
    "a contour without concave portions has neither concavity nor concave points",
)
SE_AT_MOST_MEAN = Rule(
    "se_at_most_mean",
    False,
    "at_most",
    _pairs("{m}_se", "{m}_mean"),
    "at most {other} in the training data",
    "a standard error above its mean suggests swapped columns",
)
RULES: tuple[Rule, ...] = (FINITE, NON_NEGATIVE, WORST_AT_LEAST_MEAN, IN_TRAINING_RANGE, ZERO_TOGETHER, SE_AT_MOST_MEAN)
HARD_RULES = tuple(rule for rule in RULES if rule.hard)
SOFT_RULES = tuple(rule for rule in RULES if not rule.hard)


class CrossFieldRule(NamedTuple):
    """A hard rule between two features, which JSON Schema cannot state: `field` >= `at_least`."""

    rule: str
    field: str
    at_least: str
    reason: str


CROSS_FIELD_RULES: tuple[CrossFieldRule, ...] = tuple(
    CrossFieldRule(rule.name, field, other, rule.reason)
    for rule in HARD_RULES
    if rule.relation == "at_least"
    for field, other in rule.pairs
)


def _columns(rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """The (field, other) columns of a pair rule, in model order."""
    fields, others = zip(*rule.pairs, strict=True)
    return np.array([INDEX[f] for f in fields]), np.array([INDEX[o] for o in others])


# Every hard "at_least" pair as (lower, higher) columns, whichever rule declares it: checked together here,
# each named by its own rule, and kept by the counterfactual search.
AT_LEAST_COLUMNS: tuple[tuple[int, int], ...] = tuple((INDEX[c.at_least], INDEX[c.field]) for c in CROSS_FIELD_RULES)
_MEANS, _WORSTS = (np.array(columns) for columns in zip(*AT_LEAST_COLUMNS, strict=True))
_CONCAVITY, _POINTS = _columns(ZERO_TOGETHER)
_SES, _SE_MEANS = _columns(SE_AT_MOST_MEAN)


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
            found.append(Violation(field, FINITE.name, str(v), f"{field} {FINITE.hint}, got {v}"))
        else:
            message = f"{field} {NON_NEGATIVE.hint} ({NON_NEGATIVE.reason}), got {v}"
            found.append(Violation(field, NON_NEGATIVE.name, v, message))
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
