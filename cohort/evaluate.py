"""The deployed model judged on a labelled cohort from another site: TRIPOD's figures, numpy only.

Discrimination (AUC with a bootstrap interval), calibration-in-the-large (the intercept of a logistic
regression of the outcome with the model's log-odds as offset) and the calibration slope (the log-odds
as the only covariate), Brier and scaled Brier scores, a smoothed calibration curve with its bootstrap
band, sensitivity, specificity, PPV and NPV at each operating point with Wilson intervals, conformal
coverage per class, the out-of-distribution share and each feature's PSI against the training deciles,
the decision curve (net benefit against treat-all and treat-none, Vickers and Elkin 2006), and the rows
that were in the training data, found by hash and counted apart. Beside each figure, what the model's
own nested CV predicted and a verdict in words.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from cohort.audit import Asked, audit
from model.arrays import FloatArray, IntArray, sigmoid
from model.drift import psi_of
from model.predictor import Predictor
from model.schema import DISCLAIMER, FEATURE_NAMES

Z = 1.959963984540054  # the normal quantile of a two-sided 95% interval
NET_BENEFIT_THRESHOLDS = tuple(round(0.01 * i, 2) for i in range(1, 51))
PSI_MOVED = 0.25  # the usual line between "some shift" and "a shift that matters"
CURVE_POINTS = 41
EVERY_ROW = Asked()  # no group columns: the data's own strata only; the bootstrap's defaults
HASH_HEX = 13  # 52 bits: exact in a float64, so the hashes travel in model.npz


def row_hashes(x: FloatArray) -> FloatArray:
    """One number per row from the sha256 of its 30 float64 values: equal rows, equal numbers."""
    rows = np.ascontiguousarray(np.atleast_2d(x), dtype="<f8") + 0.0  # -0.0 and 0.0 alike
    return np.array([float(int(hashlib.sha256(r.tobytes()).hexdigest()[:HASH_HEX], 16)) for r in rows])


def fingerprint(x: FloatArray, y: IntArray) -> str:
    """sha256 of a cohort's rows and labels, as the training data's fingerprint is taken."""
    return hashlib.sha256(
        np.ascontiguousarray(x, dtype="<f8").tobytes() + np.asarray(y, dtype="<i8").tobytes()
    ).hexdigest()


def auc(y: IntArray, p: FloatArray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic, ties counted half."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    ends = np.r_[starts[1:], len(p)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2  # average rank, 1-based
    positives = int(y.sum())
    negatives = len(y) - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's 95% interval for k successes in n."""
    if n == 0:
        return (0.0, 1.0)
    share = k / n
    centre = (share + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * np.sqrt(share * (1 - share) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class LogisticFit:
    coefficients: FloatArray
    covariance: FloatArray
    converged: bool


def logistic(design: FloatArray, y: IntArray, offset: FloatArray, iterations: int = 100) -> LogisticFit:
    """Maximum likelihood logistic regression by Newton's method; the covariance is the inverse information."""
    beta = np.zeros(design.shape[1])
    information = np.eye(design.shape[1])
    for _ in range(iterations):
        mu = sigmoid(design @ beta + offset)
        information = design.T @ (design * (mu * (1 - mu))[:, None])
        step = np.linalg.lstsq(information, design.T @ (y - mu), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            return LogisticFit(beta, np.linalg.pinv(information), converged=True)
    return LogisticFit(beta, np.linalg.pinv(information), converged=False)


def _interval(fit: LogisticFit, i: int) -> list[float]:
    se = float(np.sqrt(fit.covariance[i, i]))
    return [float(fit.coefficients[i] - Z * se), float(fit.coefficients[i] + Z * se)]


def calibration(y: IntArray, log_odds: FloatArray) -> dict[str, Any]:
    """Calibration-in-the-large (slope fixed at 1: the log-odds as offset) and the calibration slope."""
    ones = np.ones((len(y), 1))
    large = logistic(ones, y, log_odds)
    slope = logistic(np.column_stack([ones, log_odds]), y, np.zeros(len(y)))
    return {
        "calibration_intercept": float(large.coefficients[0]),
        "calibration_intercept_ci": _interval(large, 0),
        "calibration_slope": float(slope.coefficients[1]),
        "calibration_slope_ci": _interval(slope, 1),
        "calibration_converged": bool(large.converged and slope.converged),
    }


def smoothed_curve(y: IntArray, p: FloatArray, grid: FloatArray) -> FloatArray:
    """Observed share malignant near each grid probability: a Gaussian kernel on the log-odds scale."""
    t = np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1))
    g = np.log(grid / (1 - grid))
    width = max(1.06 * float(np.std(t)) * len(t) ** -0.2, 0.25)
    weights = np.exp(-0.5 * ((g[:, None] - t[None, :]) / width) ** 2)
    return np.asarray((weights @ y) / np.maximum(weights.sum(axis=1), 1e-300))


def net_benefit(y: IntArray, p: FloatArray) -> dict[str, list[float]]:
    """Net benefit of treating when p >= t, of treating all, and of none, for t from 0.01 to 0.50."""
    n, prevalence = len(y), float(y.mean())
    model, treat_all = [], []
    for t in NET_BENEFIT_THRESHOLDS:
        treated = p >= t
        odds = t / (1 - t)
        model.append(float(np.sum(treated & (y == 1)) / n - np.sum(treated & (y == 0)) / n * odds))
        treat_all.append(prevalence - (1 - prevalence) * odds)
    return {
        "thresholds": list(NET_BENEFIT_THRESHOLDS),
        "model": model,
        "treat_all": treat_all,
        "treat_none": [0.0] * len(NET_BENEFIT_THRESHOLDS),
    }


def rates_at(y: IntArray, said: np.ndarray) -> dict[str, Any]:
    """Sensitivity, specificity, PPV and NPV with Wilson intervals."""
    tp, fn = int(np.sum(said & (y == 1))), int(np.sum(~said & (y == 1)))
    tn, fp = int(np.sum(~said & (y == 0))), int(np.sum(said & (y == 0)))
    out: dict[str, Any] = {}
    for name, k, n in (
        ("sensitivity", tp, tp + fn),
        ("specificity", tn, tn + fp),
        ("ppv", tp, tp + fp),
        ("npv", tn, tn + fn),
    ):
        out[name] = k / n if n else None
        out[f"{name}_ci"] = list(wilson(k, n))
    return out


def bootstrap(y: IntArray, p: FloatArray, grid: FloatArray, resamples: int, seed: int) -> dict[str, Any]:
    """95% intervals of the AUC and the Brier score, and the calibration curve's band, from `resamples`
    bootstrap samples of rows."""
    rng = np.random.default_rng(seed)
    aucs, briers, curves = [], [], []
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            aucs.append(auc(y[i], p[i]))
            briers.append(float(np.mean((p[i] - y[i]) ** 2)))
            curves.append(smoothed_curve(y[i], p[i], grid))
    band = np.percentile(np.array(curves), [2.5, 97.5], axis=0) if curves else np.zeros((2, len(grid)))
    return {
        "auc_ci": [float(v) for v in np.percentile(aucs, [2.5, 97.5])] if aucs else None,
        "brier_ci": [float(v) for v in np.percentile(briers, [2.5, 97.5])] if briers else None,
        "band": band,
        "resamples_used": len(aucs),
    }


# Figures for which a lower value is the better one; for the rest, higher is better, except the two
# calibration figures, for which any distance from what nested CV measured is miscalibration.
LOWER_IS_BETTER = ("brier", "ood_share", "indeterminate")
CALIBRATION = ("calibration_intercept", "calibration_slope")


def _expected(mean: float, std: float, share: bool = True) -> dict[str, Any]:
    """What nested CV predicts for a figure: its mean, SD over outer folds, and mean +/- 2 SD."""
    low, high = mean - 2 * std, mean + 2 * std
    if share:  # a proportion stays in [0, 1]
        low, high = max(0.0, low), min(1.0, high)
    return {"mean": mean, "std": std, "range": [low, high]}


def verdict(name: str, value: float | None, interval: list[float] | None, expected: dict[str, Any]) -> str:
    """Plain words: does the cohort's figure (or its interval) meet the range nested CV predicted?"""
    if value is None:
        return "not measurable on this cohort"
    low, high = expected["range"]
    lo, hi = interval if interval is not None else (value, value)
    if lo <= high and hi >= low:
        return f"inside what nested CV predicted ({low:.3f} to {high:.3f})"
    below = hi < low
    if name in CALIBRATION:
        where = f"{'below' if below else 'above'} what nested CV predicted ({low:.3f} to {high:.3f})"
        return f"{where}: the model's probabilities are miscalibrated on this cohort; recalibrate before use"
    better = below == name.endswith(LOWER_IS_BETTER)
    where = f"{'below' if below else 'above'} what nested CV predicted ({low:.3f} to {high:.3f})"
    if better:
        return f"{where}, for the better: check that the cohort is not training data"
    return f"{where}, for the worse: the model does not transfer as is"


def _cv(predictor: Predictor) -> dict[str, dict[str, Any]]:
    """The model's own nested-CV figures, keyed as the report's."""
    m = predictor.manifest
    scores = m.metrics.scores
    out = {key: _expected(scores[key].mean, scores[key].std) for key in ("auc", "brier")}
    # Calibration measured the same way on the outer folds: what a held-out cohort should show.
    for key in CALIBRATION:
        out[key] = _expected(scores[key].mean, scores[key].std, share=False)
    for name, op in m.operating_points.items():
        out[f"{name}.sensitivity"] = _expected(op.cv_sensitivity.mean, op.cv_sensitivity.std)
        out[f"{name}.specificity"] = _expected(op.cv_specificity.mean, op.cv_specificity.std)
    for level in m.conformal.levels:
        for key in ("coverage_malignant", "coverage_benign", "indeterminate"):
            out[f"{level.alpha}.{key}"] = _expected(level.cv[key].mean, level.cv[key].std)
    flags = m.out_of_distribution.cv["false_flag_rate"]
    out["ood_share"] = _expected(flags.mean, flags.std)
    return out


def _policy(predictor: Predictor, x: FloatArray, y: IntArray) -> dict[str, Any]:
    """Rates at each operating point, and conformal coverage per class at each alpha."""
    points = {}
    for name, threshold in predictor.operating_points.items():
        said = predictor.predict(x, operating_point=name).malignant
        points[name] = {"threshold": threshold, **rates_at(y, np.asarray(said))}
    conformal = {}
    for alpha in sorted(predictor.conformal):
        in_set = predictor.predict(x, alpha=alpha).in_set
        covered = in_set[np.arange(len(y)), y]
        conformal[str(alpha)] = {
            "coverage_malignant": float(covered[y == 1].mean()) if (y == 1).any() else None,
            "coverage_benign": float(covered[y == 0].mean()) if (y == 0).any() else None,
            "indeterminate": float(np.mean(in_set.sum(axis=1) != 1)),
        }
    return {"operating_points": points, "conformal": conformal}


def _verdicts(report: dict[str, Any], cv: dict[str, dict[str, Any]]) -> dict[str, str]:
    figures: dict[str, tuple[float | None, list[float] | None]] = {
        "auc": (report["auc"], report["auc_ci"]),
        "brier": (report["brier"], report["brier_ci"]),
        "calibration_intercept": (report["calibration_intercept"], report["calibration_intercept_ci"]),
        "calibration_slope": (report["calibration_slope"], report["calibration_slope_ci"]),
        "ood_share": (report["ood_share"], list(wilson(round(report["ood_share"] * report["n"]), report["n"]))),
    }
    for name, point in report["operating_points"].items():
        for key in ("sensitivity", "specificity"):
            figures[f"{name}.{key}"] = (point[key], point[f"{key}_ci"])
    for alpha, outcome in report["conformal"].items():
        for key, value in outcome.items():
            figures[f"{alpha}.{key}"] = (value, None)
    return {name: verdict(name, value, interval, cv[name]) for name, (value, interval) in figures.items()}


def evaluate(predictor: Predictor, x: FloatArray, y: IntArray, asked: Asked = EVERY_ROW) -> dict[str, Any]:
    """Every figure of the cohort report, overall and by group (cohort.audit), on the rows that were not in
    the training data when any are not."""
    seen = np.isin(row_hashes(x), predictor.artifact.arrays["row_hashes"])
    external = ~seen if (~seen).any() else np.ones(len(y), dtype=bool)
    x, y = x[external], y[external]
    kept = np.flatnonzero(external)
    columns = {name: [values[int(i)] for i in kept] for name, values in asked.columns.items()}
    resamples, seed = asked.resamples, asked.seed
    predictions = predictor.predict(x)
    p, log_odds = predictions.probability, predictions.log_odds
    prevalence = float(y.mean())
    grid = np.linspace(0.02, 0.98, CURVE_POINTS)
    boot = bootstrap(y, p, grid, resamples, seed)
    brier = float(np.mean((p - y) ** 2))
    drift = psi_of(x, predictor.artifact.arrays["drift_edges"], predictor.artifact.arrays["drift_expected"])
    report: dict[str, Any] = {
        "disclaimer": DISCLAIMER,
        "model_version": predictor.version,
        "n": len(y),
        "prevalence": prevalence,
        "auc": auc(y, p) if 0 < y.sum() < len(y) else None,
        "auc_ci": boot["auc_ci"],
        "bootstrap_resamples": boot["resamples_used"],
        **calibration(y, log_odds),
        "brier": brier,
        "brier_ci": boot["brier_ci"],
        "scaled_brier": 1 - brier / (prevalence * (1 - prevalence)) if 0 < prevalence < 1 else None,
        "calibration_curve": {
            "probability": grid.tolist(),
            "observed": smoothed_curve(y, p, grid).tolist(),
            "band_low": boot["band"][0].tolist(),
            "band_high": boot["band"][1].tolist(),
        },
        **_policy(predictor, x, y),
        "ood_share": float(predictions.out_of_distribution.mean()),
        "psi": {name: float(v) for name, v in zip(FEATURE_NAMES, drift, strict=True)},
        "features_moved": [name for name, v in zip(FEATURE_NAMES, drift, strict=True) if v > PSI_MOVED],
        "net_benefit": net_benefit(y, p),
        "overlap_with_training": _overlap(int(seen.sum()), len(seen)),
    }
    cv = _cv(predictor)
    report["expected"] = cv
    report["verdicts"] = _verdicts(report, cv)
    report["audit"] = audit(predictor, x, y, asked._replace(columns=columns))
    report["parent"] = beside_parent(predictor, log_odds, y)
    return report


def beside_parent(predictor: Predictor, log_odds: FloatArray, y: IntArray) -> dict[str, Any] | None:
    """An updated version's parent on the same rows: its log-odds undo the update (cohort.update), so the parent's
    figures need only the new version. None for a trained model."""
    lineage = predictor.manifest.lineage
    if lineage is None:
        return None
    a, b = lineage.coefficients["intercept"], lineage.coefficients["slope"]
    parent = (log_odds - a) / b
    p = sigmoid(parent)
    return {
        "model_version": lineage.parent_version,
        "site": lineage.site,
        "method": lineage.method,
        "auc": auc(y, p) if 0 < y.sum() < len(y) else None,
        **calibration(y, parent),
        "brier": float(np.mean((p - y) ** 2)),
        "operating_points": {
            name: {"threshold": t, **rates_at(y, p >= t)} for name, t in predictor.operating_points.items()
        },
    }


def _overlap(rows: int, of: int) -> dict[str, Any]:
    if rows == 0:
        note = "no cohort row is in the training data"
    elif rows == of:
        note = f"{rows} of {of} rows are in the training data: these figures are not external"
    else:
        note = (
            f"{rows} of {of} rows are in the training data: they are left out, "
            f"the figures describe the other {of - rows}"
        )
    return {"rows": rows, "of": of, "note": note}
