"""Scores, operating points and conformal thresholds, computed from probabilities of malignancy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from model.arrays import FloatArray, IntArray
from training.results import ConformalOutcome

SCREENING_SENSITIVITY = 0.99
ALPHAS = (0.01, 0.05)
ECE_BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    share: float  # of all rows
    mean_probability: float
    observed: float  # share of malignant rows


def calibration_bins(y: IntArray, p: FloatArray, bins: int = ECE_BINS) -> list[CalibrationBin]:
    """The non-empty bins of `bins` equal-width bins of p, in order."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    masks = (which == b for b in range(bins))
    return [
        CalibrationBin(float(mask.mean()), float(p[mask].mean()), float(y[mask].mean())) for mask in masks if mask.any()
    ]


def expected_calibration_error(y: IntArray, p: FloatArray, bins: int = ECE_BINS) -> float:
    """Weighted mean |observed frequency - mean probability| over equal-width bins."""
    total = 0.0  # a plain running sum: sum() compensates, and the stored figures would move in the last digit
    for b in calibration_bins(y, p, bins):
        total += b.share * abs(b.observed - b.mean_probability)
    return total


def rates(y: IntArray, p: FloatArray, threshold: float) -> tuple[float, float]:
    """(sensitivity, specificity) when malignant is predicted for p >= threshold."""
    predicted = p >= threshold
    sensitivity = float(predicted[y == 1].mean()) if (y == 1).any() else math.nan
    specificity = float((~predicted[y == 0]).mean()) if (y == 0).any() else math.nan
    return sensitivity, specificity


def scores(y: IntArray, p: FloatArray) -> dict[str, float]:
    sensitivity, specificity = rates(y, p, 0.5)
    return {
        "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
        "auc": float(roc_auc_score(y, p)),
        "sensitivity": sensitivity,
        "specificity": specificity,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
    }


def balanced_threshold(y: IntArray, p: FloatArray) -> float:
    """The threshold maximising sensitivity + specificity; ties go to the one nearest 0.5."""
    candidates = np.unique(p)
    best, best_key = 0.5, (-1.0, 0.0)
    for t in candidates:
        sens, spec = rates(y, p, float(t))
        key = (sens + spec, -abs(float(t) - 0.5))
        if key > best_key:
            best, best_key = float(t), key
    return best


def screening_threshold(y: IntArray, p: FloatArray, target: float = SCREENING_SENSITIVITY) -> float:
    """The highest threshold whose sensitivity is at least `target`."""
    malignant = np.sort(p[y == 1])
    # Malignant is predicted for p >= t; keep at least ceil(target * n) malignant rows above t.
    allowed_misses = len(malignant) - math.ceil(target * len(malignant))
    return float(malignant[allowed_misses])


def conformal_thresholds(y: IntArray, p: FloatArray, alpha: float) -> tuple[float, float]:
    """Class-conditional split-conformal thresholds on p, from calibration probabilities.

    Malignant is in the set when p >= the first value, benign when p <= the second. The score of
    label c is 1 - P(c); its finite-sample quantile is the ceil((n + 1)(1 - alpha))-th smallest.
    """

    def quantile(s: FloatArray) -> float:
        k = math.ceil((len(s) + 1) * (1 - alpha))
        return 1.0 if k > len(s) else float(np.sort(s)[k - 1])

    q_malignant = quantile(1.0 - p[y == 1])
    q_benign = quantile(p[y == 0])
    return 1.0 - q_malignant, q_benign


def conformal_outcome(y: IntArray, p: FloatArray, thresholds: tuple[float, float]) -> ConformalOutcome[float]:
    malignant_from, benign_to = thresholds
    has_m, has_b = p >= malignant_from, p <= benign_to
    covered = np.where(y == 1, has_m, has_b)
    return ConformalOutcome(
        coverage_malignant=float(covered[y == 1].mean()),
        coverage_benign=float(covered[y == 0].mean()),
        indeterminate=float(np.mean(has_m == has_b)),
    )
