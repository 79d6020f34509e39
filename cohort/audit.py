"""The subgroup audit (bias analysis): every figure of `evaluate` by group, beside a reference group.

Groups come from the cohort's own columns (`--group`), from each intersection of two of them, and always
from the data's own strata: the quartiles of STRATA_FEATURES in the training rows the artifact holds, so
that every site's audit cuts at the same points. Intervals are percentile bootstrap intervals from
resamples stratified by outcome within each group (a group never loses a class in a resample); the
difference and the ratio to the reference group come from the same resamples. Every comparison is
exploratory: many figures over many groups, with no correction for multiplicity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations, pairwise
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from model.arrays import BoolArray, FloatArray, IntArray, sigmoid
from model.drift import psi_of
from model.errors import CsvError
from model.predictor import Predictor
from model.schema import DEFAULT_ALPHA, DEFAULT_OPERATING_POINT, FEATURE_NAMES, INDEX

STRATA_FEATURES = ("area_worst", "texture_mean")
QUARTILES = (0.25, 0.5, 0.75)
MISSING = "missing"  # the group of an empty cell
MAX_GROUPS = 20  # distinct values a group column may hold
MAX_GROUP_COLUMNS = 3
AT_LEAST_FOR_FIGURES = 10  # events and non-events a group needs for any figure beyond its counts
AT_LEAST_FOR_SLOPE = 100  # events and non-events a group needs for a calibration slope
RATIO_BAND = (0.8, 1.25)  # the four-fifths rule, as Aequitas uses it
EXPLORATORY = (
    "Exploratory: many figures compared over many groups with no correction for multiplicity; a flag asks for "
    "a closer look with more data, not a conclusion."
)


class Scored(NamedTuple):
    """Cohort rows as the audit reads them; with resamples, each array gains a first axis of resamples."""

    y: IntArray
    p: FloatArray
    log_odds: FloatArray
    said: BoolArray  # malignant at the operating point
    covered: BoolArray  # the conformal set holds the true label
    set_size: IntArray
    confidence: FloatArray  # the calibrated probability of the label said: its mean estimates accuracy, no labels
    ood: BoolArray

    def take(self, index: IntArray) -> Scored:
        return Scored._make(a[index] for a in self)


def _share(k: FloatArray, n: FloatArray) -> FloatArray:
    return np.asarray(np.where(n > 0, k / np.maximum(n, 1), np.nan), dtype=float)


def _confusion(s: Scored) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(tp, fn, tn, fp) of each resample."""
    y = s.y == 1
    return (
        np.sum(s.said & y, axis=-1).astype(float),
        np.sum(~s.said & y, axis=-1).astype(float),
        np.sum(~s.said & ~y, axis=-1).astype(float),
        np.sum(s.said & ~y, axis=-1).astype(float),
    )


def _auc(s: Scored, _: float) -> FloatArray:
    """The Mann-Whitney statistic of each resample, ties counted half."""
    out = np.full(len(s.y), np.nan)
    for b, (y, p) in enumerate(zip(s.y, s.p, strict=True)):
        positive, negative = p[y == 1], np.sort(p[y == 0])
        if len(positive) and len(negative):
            below = np.searchsorted(negative, positive, "left")
            up_to = np.searchsorted(negative, positive, "right")
            out[b] = (below.sum() + 0.5 * (up_to - below).sum()) / (len(positive) * len(negative))
    return out


NEWTON_STEPS = 50
CONVERGED = 1e-9


def intercepts(y: IntArray, log_odds: FloatArray) -> FloatArray:
    """Calibration-in-the-large of each resample: logit P(y) = a + log-odds, by Newton's method."""
    a = np.zeros(len(y))
    step = np.full(len(y), np.inf)
    for _ in range(NEWTON_STEPS):
        mu = sigmoid(a[:, None] + log_odds)
        step = np.sum(y - mu, axis=1) / np.maximum(np.sum(mu * (1 - mu), axis=1), 1e-300)
        a = a + step
        if np.all(np.abs(step) < CONVERGED):
            break
    return np.where(np.abs(step) < CONVERGED, a, np.nan)


def slopes(y: IntArray, log_odds: FloatArray) -> FloatArray:
    """The calibration slope of each resample: logit P(y) = a + b log-odds; NaN where the fit diverges."""
    a, b = np.zeros(len(y)), np.ones(len(y))
    done = np.zeros(len(y), dtype=bool)
    for _ in range(NEWTON_STEPS):
        with np.errstate(invalid="ignore", over="ignore"):  # a diverging fit (separated classes) goes NaN
            mu = sigmoid(a[:, None] + b[:, None] * log_odds)
        r, w = y - mu, mu * (1 - mu)
        g0, g1 = r.sum(axis=1), (r * log_odds).sum(axis=1)
        i00, i01, i11 = w.sum(axis=1), (w * log_odds).sum(axis=1), (w * log_odds**2).sum(axis=1)
        det = i00 * i11 - i01**2
        with np.errstate(divide="ignore", invalid="ignore"):
            s0, s1 = (i11 * g0 - i01 * g1) / det, (i00 * g1 - i01 * g0) / det
        a, b = a + s0, b + s1
        done = (np.abs(s0) < CONVERGED) & (np.abs(s1) < CONVERGED)
        if np.all(done | ~np.isfinite(s1)):
            break
    return np.where(done, b, np.nan)


def _net_benefit(s: Scored, threshold: float) -> FloatArray:
    tp, _, _, fp = _confusion(s)
    return np.asarray((tp - fp * threshold / (1 - threshold)) / s.y.shape[-1])


TP, FN, TN, FP = range(4)  # positions in _confusion's answer


def _rate(numerator: int, *denominator: int) -> Callable[[Scored, float], FloatArray]:
    """A share of the confusion counts, named by position."""

    def value(s: Scored, _: float) -> FloatArray:
        c = _confusion(s)
        return _share(c[numerator], np.sum([c[i] for i in denominator], axis=0))

    return value


def _mean(of: Callable[[Scored], Any]) -> Callable[[Scored, float], FloatArray]:
    return lambda s, _: np.asarray(np.mean(of(s), axis=-1), dtype=float)


class Figure(NamedTuple):
    """One figure of the audit, declared once: the table, the flags, the worst group and the plots read it."""

    name: str
    description: str
    best: str  # "high", "low", "zero" (best at 0), "one" (best at 1): which group is the worst
    margin: float  # a difference to the reference whose interval lies wholly beyond +/- this is flagged
    ratio: bool  # a ratio to the reference is reported and flagged (figures that are shares away from 0)
    least: int  # the events and non-events a group needs for it
    value: Callable[[Scored, float], FloatArray]  # (resamples, rows) and the threshold -> (resamples,)
    # False for figures that follow the group's prevalence, which the stratified resamples hold fixed: their
    # intervals leave that out, so their difference to the reference is reported and never flagged.
    flagged: bool = True


F = Figure
FIGURES: tuple[Figure, ...] = (
    F("auc", "area under the ROC curve", "high", 0.05, True, AT_LEAST_FOR_FIGURES, _auc),
    F(
        "observed_expected",
        "observed over expected malignant (sum of labels over sum of probabilities)",
        "one",
        0.2,
        True,
        AT_LEAST_FOR_FIGURES,
        lambda s, _: np.asarray(s.y.sum(axis=-1) / s.p.sum(axis=-1), dtype=float),
    ),
    F(
        "calibration_intercept",
        "calibration-in-the-large, the log-odds as offset",
        "zero",
        0.5,
        False,
        AT_LEAST_FOR_FIGURES,
        lambda s, _: intercepts(s.y, s.log_odds),
    ),
    F(
        "calibration_slope",
        "calibration slope on the log-odds",
        "one",
        0.3,
        True,
        AT_LEAST_FOR_SLOPE,
        lambda s, _: slopes(s.y, s.log_odds),
    ),
    F("brier", "Brier score", "low", 0.02, False, AT_LEAST_FOR_FIGURES, _mean(lambda s: (s.p - s.y) ** 2)),
    F("sensitivity", "malignant called malignant", "high", 0.05, True, AT_LEAST_FOR_FIGURES, _rate(TP, TP, FN)),
    F("specificity", "benign called benign", "high", 0.05, True, AT_LEAST_FOR_FIGURES, _rate(TN, TN, FP)),
    F("ppv", "malignant among those called malignant", "high", 0.05, True, AT_LEAST_FOR_FIGURES, _rate(TP, TP, FP)),
    F("npv", "benign among those called benign", "high", 0.05, True, AT_LEAST_FOR_FIGURES, _rate(TN, TN, FN)),
    F("false_positive_rate", "benign called malignant", "low", 0.05, False, AT_LEAST_FOR_FIGURES, _rate(FP, TN, FP)),
    F("false_negative_rate", "malignant called benign", "low", 0.05, False, AT_LEAST_FOR_FIGURES, _rate(FN, TP, FN)),
    F(
        "positive_rate",
        "share called malignant",
        "none",
        0.05,
        True,
        AT_LEAST_FOR_FIGURES,
        _mean(lambda s: s.said),
        flagged=False,
    ),
    F("net_benefit", "net benefit at the threshold", "high", 0.05, False, AT_LEAST_FOR_FIGURES, _net_benefit, False),
    F(
        "coverage",
        "conformal sets holding the true label",
        "high",
        0.05,
        True,
        AT_LEAST_FOR_FIGURES,
        _mean(lambda s: s.covered),
    ),
    F(
        "mean_set_size",
        "mean size of the conformal set",
        "low",
        0.1,
        True,
        AT_LEAST_FOR_FIGURES,
        _mean(lambda s: s.set_size),
    ),
    F(
        "accuracy",
        "labels right at the operating point",
        "high",
        0.05,
        True,
        AT_LEAST_FOR_FIGURES,
        _mean(lambda s: s.said == (s.y == 1)),
    ),
    F(
        "estimated_accuracy",
        "accuracy estimated without labels (mean confidence), beside the realised accuracy",
        "high",
        0.05,
        True,
        AT_LEAST_FOR_FIGURES,
        _mean(lambda s: s.confidence),
    ),
    F(
        "ood_share",
        "share flagged out of distribution",
        "low",
        0.05,
        False,
        AT_LEAST_FOR_FIGURES,
        _mean(lambda s: s.ood),
    ),
)
BY_NAME = {f.name: f for f in FIGURES}
RULES = (
    f"A group with fewer than {AT_LEAST_FOR_FIGURES} events or {AT_LEAST_FOR_FIGURES} non-events shows its counts "
    "only.",
    f"A group with fewer than {AT_LEAST_FOR_SLOPE} events or {AT_LEAST_FOR_SLOPE} non-events shows no "
    "calibration slope.",
    "Intervals are 95% percentile bootstrap intervals, resampling events and non-events apart within each group.",
    f"A figure is flagged when its ratio to the reference has an interval wholly outside {RATIO_BAND[0]} to "
    f"{RATIO_BAND[1]}, or its difference has an interval wholly beyond the figure's stated margin either side "
    "of 0.",
    "PSI against the training deciles grows as a group shrinks; it is reported, never compared.",
    "The positive rate and the net benefit follow a group's prevalence, which the resamples hold fixed: their "
    "differences are reported, never flagged.",
    EXPLORATORY,
)
# The long table's columns, in order: its JSON rows and its CSV header.
COLUMNS = (
    "column",
    "group",
    "n",
    "events",
    "figure",
    "estimate",
    "low",
    "high",
    "reference",
    "difference",
    "difference_low",
    "difference_high",
    "ratio",
    "ratio_low",
    "ratio_high",
    "flag",
    "note",
)
COMPARISON = COLUMNS[COLUMNS.index("difference") : COLUMNS.index("flag")]


class Asked(NamedTuple):
    """What the user asked to audit: each group column's value per row, reference groups by column, and the
    bootstrap."""

    columns: Mapping[str, Sequence[str]] = MappingProxyType({})
    reference: Mapping[str, str] = MappingProxyType({})
    resamples: int = 2000
    seed: int = 0


class Group(NamedTuple):
    column: str
    name: str
    rows: IntArray


def strata_cuts(predictor: Predictor) -> dict[str, list[float]]:
    """The training quartiles of each stratifying feature, from the training rows the artifact holds."""
    x = predictor.artifact.arrays["training_x"]
    return {name: [float(v) for v in np.quantile(x[:, INDEX[name]], QUARTILES)] for name in STRATA_FEATURES}


def _stratum_names(cuts: Sequence[float]) -> list[str]:
    edges = [f"{c:.6g}" for c in cuts]
    return [
        f"Q1 (up to {edges[0]})",
        *(f"Q{i + 2} ({lo} to {hi})" for i, (lo, hi) in enumerate(pairwise(edges))),
        f"Q{len(cuts) + 1} (above {edges[-1]})",
    ]


def columns_of(
    x: FloatArray, groups: Mapping[str, Sequence[str]], cuts: Mapping[str, Sequence[float]]
) -> dict[str, list[str]]:
    """Every audited column's value per row: the strata, the cohort's group columns and their intersections."""
    out: dict[str, list[str]] = {}
    for feature, edges in cuts.items():
        names = _stratum_names(edges)
        # right=True: a value on a cut point falls in the lower quartile, as np.quantile's cut suggests
        out[f"{feature} quartile"] = [names[i] for i in np.digitize(x[:, INDEX[feature]], edges, right=True)]
    for column, values in groups.items():
        distinct = sorted(set(values))
        if len(distinct) > MAX_GROUPS:
            raise CsvError(
                f"group column {column!r} holds {len(distinct)} distinct values, at most {MAX_GROUPS} are audited; "
                "group the values first (an identifier is not a group)"
            )
        out[column] = [v if v.strip() else MISSING for v in values]
    for a, b in combinations(groups, 2):
        out[f"{a} & {b}"] = [f"{u} & {v}" for u, v in zip(out[a], out[b], strict=True)]
    return out


def _resamples(rows: IntArray, y: IntArray, count: int, rng: np.random.Generator) -> IntArray:
    """(count, len(rows)) indices: events drawn from the group's events, non-events from its non-events."""
    events, others = rows[y[rows] == 1], rows[y[rows] == 0]
    parts = [part[rng.integers(0, len(part), (count, len(part)))] for part in (events, others) if len(part)]
    return np.concatenate(parts, axis=1)


def _interval(values: FloatArray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)]
    if len(finite) < 0.5 * len(values) or len(finite) == 0:
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


class _Measured(NamedTuple):
    group: Group
    events: int
    estimates: dict[str, float | None]
    draws: dict[str, FloatArray]  # figure -> (resamples,)


def _measure(group: Group, scored: Scored, threshold: float, count: int, rng: np.random.Generator) -> _Measured:
    y = scored.y[group.rows]
    events, others = int(y.sum()), int(len(y) - y.sum())
    least = min(events, others)
    index = _resamples(group.rows, scored.y, count, rng) if least >= AT_LEAST_FOR_FIGURES else None
    estimates: dict[str, float | None] = {}
    draws: dict[str, FloatArray] = {}
    for figure in FIGURES:
        if index is None or least < figure.least:
            estimates[figure.name] = None
            continue
        estimates[figure.name] = _number(figure.value(scored.take(group.rows[None, :]), threshold)[0])
        draws[figure.name] = figure.value(scored.take(index), threshold)
    return _Measured(group, events, estimates, draws)


def _withheld(m: _Measured, figure: Figure) -> str:
    n = len(m.group.rows)
    if figure.name in m.draws:
        return ""
    least = min(m.events, n - m.events)
    return (
        f"withheld: {m.events} events and {n - m.events} non-events, under {figure.least} of each"
        if (least < figure.least)
        else "not measurable on this group"
    )


def _beyond(interval: tuple[float | None, float | None], low: float, high: float) -> bool:
    """Whether an interval lies wholly below `low` or wholly above `high`."""
    lo, hi = interval
    return lo is not None and hi is not None and (lo > high or hi < low)


def _compare(m: _Measured, ref: _Measured, figure: Figure) -> dict[str, Any]:
    """The difference and the ratio to the reference, with intervals from the same resamples, and the flag."""
    out: dict[str, Any] = dict.fromkeys(COMPARISON)
    out["flag"], out["note"] = False, ""
    mine, theirs = m.estimates[figure.name], ref.estimates[figure.name]
    if m is ref or mine is None or theirs is None:
        return out
    reasons = []
    difference = _interval(m.draws[figure.name] - ref.draws[figure.name])
    out["difference"], (out["difference_low"], out["difference_high"]) = mine - theirs, difference
    if _beyond(difference, -figure.margin, figure.margin):
        reasons.append(f"difference interval wholly beyond +/-{figure.margin}")
    if figure.ratio and theirs > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = _interval(m.draws[figure.name] / ref.draws[figure.name])
        out["ratio"], (out["ratio_low"], out["ratio_high"]) = mine / theirs, ratio
        if _beyond(ratio, *RATIO_BAND):
            reasons.append(f"ratio interval wholly outside {RATIO_BAND[0]} to {RATIO_BAND[1]}")
    if not figure.flagged:
        out["note"] = "follows the group's prevalence: compared, never flagged"
    else:
        out["flag"], out["note"] = bool(reasons), "; ".join(reasons)
    return out


def _badness(figure: Figure, value: float) -> float:
    """How far from its best a figure is: larger is worse."""
    if figure.best == "high":
        return -value
    if figure.best == "low":
        return value
    if figure.best == "zero":
        return abs(value)
    return abs(np.log(value)) if value > 0 else np.inf


def _worst(measured: Sequence[_Measured]) -> list[dict[str, Any]]:
    out = []
    for figure in FIGURES:
        if figure.best == "none":
            continue
        found = [(m, v) for m in measured if (v := m.estimates[figure.name]) is not None]
        if len(found) > 1:
            m, value = max(found, key=lambda mv: _badness(figure, mv[1]))
            out.append({"column": m.group.column, "figure": figure.name, "group": m.group.name, "estimate": value})
    return out


def _reference(column: str, groups: list[_Measured], asked: Mapping[str, str]) -> _Measured:
    if column in asked:
        for m in groups:
            if m.group.name == asked[column]:
                return m
        names = [m.group.name for m in groups]
        raise CsvError(f"--reference {column}={asked[column]}: no such group; the groups of {column!r} are {names}")
    # The largest group that shows figures: a reference with counts only would compare nothing.
    return max(
        groups, key=lambda m: (min(m.events, len(m.group.rows) - m.events) >= AT_LEAST_FOR_FIGURES, len(m.group.rows))
    )


def scored(predictor: Predictor, x: FloatArray, y: IntArray, probability: FloatArray | None = None) -> Scored:
    """The rows as the audit reads them at the default operating point and alpha: the model's answers, or, when
    `probability` is given (training's out-of-fold probabilities), the answers those probabilities give."""
    predictions = predictor.predict(x)
    if probability is None:
        p, log_odds = predictions.probability, predictions.log_odds
    else:
        p = np.clip(probability, 1e-15, 1 - 1e-15)
        log_odds = np.log(p) - np.log1p(-p)
    malignant_from, benign_to = predictor.conformal[predictions.alpha]
    in_set = np.stack([p <= benign_to, p >= malignant_from], axis=1)
    said = p >= predictions.threshold
    return Scored(
        y=y,
        p=p,
        log_odds=log_odds,
        said=said,
        covered=in_set[np.arange(len(y)), y],
        set_size=in_set.sum(axis=1),
        confidence=np.where(said, p, 1 - p),
        ood=predictions.out_of_distribution,
    )


def audit(predictor: Predictor, x: FloatArray, y: IntArray, asked: Asked) -> dict[str, Any]:
    """Every figure by group, on the model's own answers to the rows."""
    return audit_scored(predictor, x, scored(predictor, x, y), asked)


def audit_scored(predictor: Predictor, x: FloatArray, rows: Scored, asked: Asked) -> dict[str, Any]:
    """Every figure by group: the long table, each group's counts and input shift, the worst groups."""
    cuts = strata_cuts(predictor)
    audited = columns_of(x, asked.columns, cuts)
    unknown = sorted(set(asked.reference) - set(audited))
    if unknown:
        raise CsvError(f"--reference names {unknown}, which are not audited columns; the columns are {list(audited)}")
    rng = np.random.default_rng(asked.seed)
    threshold = predictor.operating_points[DEFAULT_OPERATING_POINT]
    table: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    worst: list[dict[str, Any]] = []
    for column, values in audited.items():
        labels = np.array(values)
        measured = [
            _measure(Group(column, name, np.flatnonzero(labels == name)), rows, threshold, asked.resamples, rng)
            for name in sorted(set(values))
        ]
        ref = _reference(column, measured, asked.reference)
        summaries += [_summary(m, ref, predictor, x) for m in measured]
        table += [_row(m, ref, figure) for m in measured for figure in FIGURES]
        worst += _worst(measured)
    return {
        "operating_point": DEFAULT_OPERATING_POINT,
        "threshold": threshold,
        "alpha": DEFAULT_ALPHA,
        "resamples": asked.resamples,
        "seed": asked.seed,
        "strata": {"features": list(STRATA_FEATURES), "quartiles": cuts, "source": "the artifact's training rows"},
        "rules": list(RULES),
        "figures": [
            {"figure": f.name, "description": f.description, "margin": f.margin, "ratio_compared": f.ratio}
            for f in FIGURES
        ],
        "groups": summaries,
        "table": table,
        "worst": worst,
        "flags": sum(r["flag"] for r in table),
    }


def _summary(m: _Measured, ref: _Measured, predictor: Predictor, x: FloatArray) -> dict[str, Any]:
    n = len(m.group.rows)
    arrays = predictor.artifact.arrays
    drift = psi_of(x[m.group.rows], arrays["drift_edges"], arrays["drift_expected"])
    largest = int(np.argmax(drift))
    least = min(m.events, n - m.events)
    shown = "all figures" if least >= AT_LEAST_FOR_SLOPE else "no calibration slope"
    return {
        "column": m.group.column,
        "group": m.group.name,
        "n": n,
        "events": m.events,
        "prevalence": m.events / n,
        "reference": ref.group.name,
        "is_reference": m is ref,
        "shown": "counts only" if least < AT_LEAST_FOR_FIGURES else shown,
        "largest_psi": float(drift[largest]),
        "largest_psi_feature": FEATURE_NAMES[largest],
    }


def _row(m: _Measured, ref: _Measured, figure: Figure) -> dict[str, Any]:
    low, high = _interval(m.draws[figure.name]) if figure.name in m.draws else (None, None)
    compared = _compare(m, ref, figure)
    note = "; ".join(part for part in (_withheld(m, figure), compared.pop("note")) if part)
    return {
        "column": m.group.column,
        "group": m.group.name,
        "n": len(m.group.rows),
        "events": m.events,
        "figure": figure.name,
        "estimate": m.estimates[figure.name],
        "low": low,
        "high": high,
        "reference": ref.group.name,
        **compared,
        "note": note,
    }
