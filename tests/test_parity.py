"""The numpy Predictor against the scikit-learn pipeline it was exported from."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from model.predictor import Predictor
from training import data


def test_probabilities_and_labels_match_sklearn_on_all_rows(
    artifact_dir: Path, predictor: Predictor, dataset: data.Dataset
) -> None:
    # GIVEN the reference pipeline saved beside the numpy arrays
    pipeline = joblib.load(artifact_dir / "pipeline.joblib")
    # WHEN both score all 569 rows
    p_sklearn = pipeline.predict_proba(dataset.x)[:, 1]
    p_numpy = predictor.probability(dataset.x)
    # THEN probabilities agree within 1e-9 and labels agree at every operating point
    assert np.max(np.abs(p_numpy - p_sklearn)) <= 1e-9
    for name, threshold in predictor.operating_points.items():
        labels = [p.label for p in predictor.predict(dataset.x, operating_point=name)]
        expected = np.where(p_sklearn >= threshold, "malignant", "benign")
        assert labels == list(expected), name
    np.testing.assert_array_equal(p_sklearn >= 0.5, pipeline.predict(dataset.x) == 1)


def test_metrics_hold_every_figure(artifact_dir: Path) -> None:
    report = json.loads((artifact_dir / "metrics.json").read_text())
    families = report["families"]
    assert {"svm_rbf", "svm_linear", "logistic", "random_forest", "gradient_boosting", "knn"} <= set(families)
    for fam in families.values():
        for metric in ("accuracy", "auc", "sensitivity", "specificity", "brier", "log_loss", "ece"):
            summary = fam["summary"][metric]
            assert 0.0 <= summary["mean"] <= 1.0 or metric == "log_loss"
            per_split = [split[metric] for split in fam["per_split"]]
            assert summary["n"] == len(per_split) == 3
            assert summary["mean"] == pytest.approx(np.mean(per_split), abs=1e-12)
            assert summary["std"] == pytest.approx(np.std(per_split, ddof=1), abs=1e-12)
    chosen = report["selection"]["chosen"]
    assert families[chosen]["deployable"]
    assert chosen == min(
        (n for n, f in families.items() if f["deployable"]), key=lambda n: families[n]["summary"]["brier"]["mean"]
    )
    ood = report["out_of_distribution"]
    assert 0.0 <= ood["cv_false_flag_rate"]["mean"] <= 0.05
    assert ood["cv_detection_rate_one_feature_times_10"]["mean"] > 0.5
    for level in report["conformal"]["levels"]:
        assert {"cv_coverage_malignant", "cv_coverage_benign", "cv_indeterminate"} <= set(level)
    screening = report["operating_points"]["screening"]
    assert screening["threshold"] < report["operating_points"]["balanced"]["threshold"]


def test_oof_predictions_are_kept(artifact_dir: Path) -> None:
    with np.load(artifact_dir / "oof.npz", allow_pickle=False) as oof:
        assert oof["p_svm_rbf"].shape == (1, 569)
        assert oof["final_oof_probability"].shape == (569,)
        assert np.all((oof["p_knn"] >= 0) & (oof["p_knn"] <= 1))
