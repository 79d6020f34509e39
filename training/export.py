"""Turning a fitted, calibrated scikit-learn pipeline into the numpy-only artifact arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans

from model.arrays import FloatArray
from model.manifest import Calibration


def calibration_map(calibrated: CalibratedClassifierCV) -> tuple[float, float]:
    """(slope, offset) with calibrated log-odds = slope * margin + offset."""
    calibrator = calibrated.calibrated_classifiers_[0].calibrators[0]
    if calibrated.method == "sigmoid":
        # scikit-learn's Platt map is p = expit(-(a * margin + b)).
        return -float(calibrator.a_), -float(calibrator.b_)
    if calibrated.method == "temperature":
        # A binary margin becomes logits (-m, m); softmax(beta * logits) gives log-odds 2 beta m.
        return 2.0 * float(calibrator.beta_), 0.0
    raise ValueError(f"calibration method {calibrated.method!r} is not exportable")


@dataclass(frozen=True)
class Exported:
    """What the arrays hold: the margin model's kind and estimator, and the calibration map."""

    kind: str
    estimator: str
    calibration: Calibration
    n_support_vectors: int | None = None  # RBF only
    gamma: float | None = None  # RBF only


def model_arrays(calibrated: CalibratedClassifierCV) -> tuple[dict[str, FloatArray], Exported]:
    """(arrays, what they hold) of the margin model inside a CalibratedClassifierCV(ensemble=False)."""
    if len(calibrated.calibrated_classifiers_) != 1:
        raise ValueError("only CalibratedClassifierCV(ensemble=False) exports to one margin model")
    pipeline = calibrated.calibrated_classifiers_[0].estimator
    scaler, clf = pipeline.named_steps["scale"], pipeline.named_steps["clf"]
    slope, offset = calibration_map(calibrated)
    arrays: dict[str, FloatArray] = {
        "scaler_mean": np.asarray(scaler.mean_, dtype=np.float64),
        "scaler_scale": np.asarray(scaler.scale_, dtype=np.float64),
        "calibration": np.array([slope, offset]),
    }
    calibration = Calibration(method=calibrated.method, slope=slope, offset=offset)
    arrays["intercept"] = np.asarray(float(clf.intercept_[0]))
    if hasattr(clf, "support_vectors_"):
        arrays["support_vectors"] = np.asarray(clf.support_vectors_, dtype=np.float64)
        arrays["dual_coef"] = np.asarray(clf.dual_coef_[0], dtype=np.float64)
        arrays["gamma"] = np.asarray(float(clf._gamma))
        rbf = Exported("rbf", type(clf).__name__, calibration, len(clf.support_vectors_), float(clf._gamma))
        return arrays, rbf
    arrays["coef"] = np.asarray(clf.coef_[0], dtype=np.float64)
    return arrays, Exported("linear", type(clf).__name__, calibration)


def background(z: FloatArray, size: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Weighted k-means of standardised training rows: centres and the share of rows in each."""
    size = min(size, len(z))
    km = KMeans(n_clusters=size, n_init=10, random_state=seed).fit(z)
    weights = np.bincount(km.labels_, minlength=size).astype(np.float64) / len(z)
    return np.asarray(km.cluster_centers_, dtype=np.float64), weights
