"""Fitting the out-of-distribution check: Mahalanobis distance with a cross-fitted threshold.

Features are log1p(x / median), standardised; the covariance is Ledoit-Wolf shrunk. The threshold
is a quantile of distances of rows the fit did not see: the data are heavy-tailed, so a chi-square
threshold would flag far too many genuine rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.model_selection import StratifiedKFold

from model.arrays import FloatArray, IntArray
from model.ood import distance

QUANTILE = 0.995
FOLDS = 5
FACTOR = 10.0


def fit(x: FloatArray) -> dict[str, FloatArray]:
    """The arrays the Predictor needs, threshold excluded."""
    median = np.median(x, axis=0)
    # A feature whose median is 0 would divide by zero; its smallest positive value stands in.
    positive = np.where(x > 0, x, np.inf).min(axis=0)
    median = np.where(median > 0, median, np.where(np.isfinite(positive), positive, 1.0))
    u = np.log1p(x / median)
    center, scale = u.mean(axis=0), u.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    precision = LedoitWolf().fit((u - center) / scale).precision_
    return {"ood_median": median, "ood_center": center, "ood_scale": scale, "ood_precision": precision}


def cross_fitted_threshold(x: FloatArray, y: IntArray, seed: int) -> float:
    held_out = np.empty(len(x))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y):
        held_out[test] = distance(fit(x[train]), x[test])
    return float(np.quantile(held_out, QUANTILE))


def fit_with_threshold(x: FloatArray, y: IntArray, seed: int) -> dict[str, FloatArray]:
    arrays = fit(x)
    arrays["ood_threshold"] = np.asarray(cross_fitted_threshold(x, y, seed))
    return arrays


def one_feature_off(x: FloatArray, seed: int, factor: float) -> FloatArray:
    """Each row with one random non-zero feature multiplied by `factor` (a unit or typing slip)."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    rows = np.arange(len(x))
    cols = np.argmax(np.where(x > 0, rng.random(x.shape), -1.0), axis=1)
    out[rows, cols] *= factor
    return out


def evaluate(x_train: FloatArray, y_train: IntArray, x_test: FloatArray, seed: int) -> dict[str, float]:
    """False-flag rate on genuine held-out rows; detection rates of one feature times or over 10."""
    arrays = fit_with_threshold(x_train, y_train, seed)
    threshold = float(arrays["ood_threshold"])

    def flagged(rows: FloatArray) -> float:
        return float(np.mean(distance(arrays, rows) > threshold))

    return {
        "false_flag_rate": flagged(x_test),
        "detection_rate_one_feature_times_10": flagged(one_feature_off(x_test, seed, FACTOR)),
        "detection_rate_one_feature_over_10": flagged(one_feature_off(x_test, seed, 1.0 / FACTOR)),
    }
