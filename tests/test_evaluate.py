"""External validation: every figure of `python -m model evaluate` against an independent computation,
the command on the embedded data (full overlap) and on the Kaggle naming, and the site-shift drill."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import optimize
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, confusion_matrix, roc_auc_score

from benchmarks import siteshift
from cohort import evaluate as evaluation
from cohort.audit import Asked
from infra.paths import ROOT
from model.predictor import Predictor
from tests.support import edit_csv, write_csv
from training import data


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Predictor, np.ndarray, np.ndarray, dict[str, Any]]:
    """A model trained on two thirds of the rows (quick profile), and its report on the other third."""
    work = tmp_path_factory.mktemp("site")
    x_train, y_train, x, y = siteshift.split(0)
    predictor = Predictor.load(siteshift.train(work, x_train, y_train, "quick"))
    return predictor, x, y, evaluation.evaluate(predictor, x, y, Asked(resamples=300, seed=1))


def test_discrimination_and_scores_match_scikit_learn(
    held_out: tuple[Predictor, np.ndarray, np.ndarray, dict[str, Any]],
) -> None:
    predictor, x, y, report = held_out
    p = predictor.probability(x)
    assert report["n"] == len(y) and report["prevalence"] == pytest.approx(y.mean())
    assert report["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert report["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert report["scaled_brier"] == pytest.approx(1 - brier_score_loss(y, p) / (y.mean() * (1 - y.mean())), abs=1e-12)
    low, high = report["auc_ci"]
    assert low <= report["auc"] <= high and report["bootstrap_resamples"] > 250
    assert report["overlap_with_training"]["rows"] == 0


def test_calibration_matches_fits_done_another_way(
    held_out: tuple[Predictor, np.ndarray, np.ndarray, dict[str, Any]],
) -> None:
    predictor, x, y, report = held_out
    lo = predictor.log_odds(x)
    # The slope: scikit-learn's unpenalised logistic regression on the log-odds
    fitted = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(lo[:, None], y)
    assert report["calibration_slope"] == pytest.approx(float(fitted.coef_[0, 0]), abs=1e-5)

    # The intercept with the log-odds as offset: a one-dimensional maximum of the likelihood by scipy
    def minus_log_likelihood(a: float) -> float:
        eta = a + lo
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    best = optimize.minimize_scalar(minus_log_likelihood, bounds=(-20, 20), method="bounded", options={"xatol": 1e-10})
    assert report["calibration_intercept"] == pytest.approx(best.x, abs=1e-6)
    # Its interval from the curvature of that likelihood, by finite differences
    h = 1e-4
    curvature = (minus_log_likelihood(best.x + h) - 2 * best.fun + minus_log_likelihood(best.x - h)) / h**2
    half = 1.959963984540054 / np.sqrt(curvature)
    assert report["calibration_intercept_ci"] == pytest.approx([best.x - half, best.x + half], abs=1e-4)

    # The slope's interval from the two-parameter likelihood's Hessian, by finite differences
    def nll(a: float, b: float) -> float:
        eta = a + b * lo
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    a, b = float(fitted.intercept_[0]), float(fitted.coef_[0, 0])
    hessian = np.array(
        [
            [(nll(a + h, b) - 2 * nll(a, b) + nll(a - h, b)) / h**2, 0.0],
            [0.0, (nll(a, b + h) - 2 * nll(a, b) + nll(a, b - h)) / h**2],
        ]
    )
    hessian[0, 1] = hessian[1, 0] = (nll(a + h, b + h) - nll(a + h, b - h) - nll(a - h, b + h) + nll(a - h, b - h)) / (
        4 * h * h
    )
    half_slope = 1.959963984540054 * np.sqrt(np.linalg.inv(hessian)[1, 1])
    assert report["calibration_slope_ci"] == pytest.approx([b - half_slope, b + half_slope], abs=1e-3)


def test_intervals_curve_and_shares_computed_again(
    held_out: tuple[Predictor, np.ndarray, np.ndarray, dict[str, Any]],
) -> None:
    predictor, x, y, report = held_out
    p = predictor.probability(x)
    # The bootstrap interval of the AUC: the same resamples, scored by scikit-learn
    rng = np.random.default_rng(1)
    aucs = []
    for _ in range(300):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            aucs.append(roc_auc_score(y[i], p[i]))
    assert report["auc_ci"] == pytest.approx(list(np.percentile(aucs, [2.5, 97.5])), abs=1e-12)
    # Specificity, PPV and NPV from scikit-learn's confusion matrix at each operating point
    for name, threshold in predictor.operating_points.items():
        tn, fp, fn, tp = confusion_matrix(y, (p >= threshold).astype(int), labels=[0, 1]).ravel()
        point = report["operating_points"][name]
        assert (point["specificity"], point["ppv"], point["npv"]) == pytest.approx(
            (tn / (tn + fp), tp / (tp + fp), tn / (tn + fn))
        )
    # The out-of-distribution share from the predictor's own flags
    assert report["ood_share"] == pytest.approx(float(np.mean(predictor.predict(x).out_of_distribution)))
    # The smoothed curve at one point: a Gaussian kernel on the log-odds, summed row by row
    curve = report["calibration_curve"]
    t = [np.log(v / (1 - v)) for v in np.clip(p, 1e-9, 1 - 1e-9)]
    width = max(1.06 * float(np.std(t)) * len(t) ** -0.2, 0.25)
    g = np.log(curve["probability"][20] / (1 - curve["probability"][20]))
    weights = [np.exp(-0.5 * ((g - ti) / width) ** 2) for ti in t]
    assert curve["observed"][20] == pytest.approx(sum(w * yi for w, yi in zip(weights, y, strict=True)) / sum(weights))
    assert all(lo <= hi for lo, hi in zip(curve["band_low"], curve["band_high"], strict=True))


def test_rates_conformal_psi_and_net_benefit_computed_again(
    held_out: tuple[Predictor, np.ndarray, np.ndarray, dict[str, Any]],
) -> None:
    predictor, x, y, report = held_out
    for name, threshold in predictor.operating_points.items():
        said = predictor.probability(x) >= threshold
        tp, fn = int(np.sum(said & (y == 1))), int(np.sum(~said & (y == 1)))
        point = report["operating_points"][name]
        assert point["sensitivity"] == pytest.approx(tp / (tp + fn))
        wilson = binomtest(tp, tp + fn).proportion_ci(confidence_level=0.95, method="wilson")
        assert point["sensitivity_ci"] == pytest.approx([wilson.low, wilson.high], abs=1e-9)
    for alpha, (from_p, to_p) in predictor.conformal.items():
        p = predictor.probability(x)
        holds = np.where(y == 1, p >= from_p, p <= to_p)
        assert report["conformal"][str(alpha)]["coverage_malignant"] == pytest.approx(holds[y == 1].mean())
        assert report["conformal"][str(alpha)]["indeterminate"] == pytest.approx(np.mean((p >= from_p) == (p <= to_p)))
    edges, expected = predictor.artifact.arrays["drift_edges"], predictor.artifact.arrays["drift_expected"]
    for j, name in enumerate(["radius_mean", "texture_mean"]):
        counts = np.array([sum(1 for v in x[:, j] if sum(e <= v for e in edges[j]) == b) for b in range(10)])
        o, e = np.maximum(counts, 0.5) / len(x), np.maximum(expected[j], 0.5 / len(x))
        assert report["psi"][name] == pytest.approx(float(np.sum((o - e) * np.log(o / e))), abs=1e-12)
    p = predictor.probability(x)
    for t, model, treat_all in zip(
        *(report["net_benefit"][k] for k in ("thresholds", "model", "treat_all")), strict=True
    ):
        tp = sum(1 for pi, yi in zip(p, y, strict=True) if pi >= t and yi == 1)
        fp = sum(1 for pi, yi in zip(p, y, strict=True) if pi >= t and yi == 0)
        assert model == pytest.approx(tp / len(y) - fp / len(y) * t / (1 - t), abs=1e-12)
        assert treat_all == pytest.approx(y.mean() - (1 - y.mean()) * t / (1 - t), abs=1e-12)


@pytest.mark.parametrize("style", ["sklearn", "canonical"])
def test_every_accepted_naming_is_judged(artifact_dir: Path, tmp_path: Path, style: str) -> None:
    cohort = write_csv(tmp_path / "cohort.csv", data.embedded(), style=style, trailing_comma=False)
    out = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "model",
        "evaluate",
        str(cohort),
        "--model",
        str(artifact_dir),
        "--bootstrap",
        "50",
    ]
    assert subprocess.run([*command, "--output", str(out)], cwd=ROOT, check=False).returncode == 0
    assert json.loads(out.read_text())["overlap_with_training"]["rows"] == 569


def test_the_command_on_the_embedded_data_reports_full_overlap(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN the training rows themselves, in the Kaggle/UCI naming, one of them broken
    cohort = edit_csv(write_csv(tmp_path / "cohort.csv", data.embedded()), 5, "radius_mean", "-1")
    out = tmp_path / "report.json"
    command = [sys.executable, "-m", "model", "evaluate", str(cohort), "--model", str(artifact_dir)]
    done = subprocess.run(
        [*command, "--bootstrap", "200", "--output", str(out)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    # THEN the broken row is named by its line, and the rest are judged: all 568 are training rows
    assert done.returncode == 1 and "line 5" in done.stderr and "radius_mean" in done.stderr
    report = json.loads(out.read_text())
    assert report["overlap_with_training"] == {
        "rows": 568,
        "of": 568,
        "note": "568 of 568 rows are in the training data: these figures are not external",
    }
    assert report["rows_refused"][0]["line"] == 5 and len(report["cohort"]["sha256"]) == 64
    for key in (
        "n",
        "prevalence",
        "auc",
        "auc_ci",
        "calibration_intercept",
        "calibration_slope",
        "brier",
        "scaled_brier",
        "operating_points",
        "conformal",
        "ood_share",
        "psi",
        "features_moved",
        "net_benefit",
        "verdicts",
    ):
        assert key in report, key
    # AND the HTML page carries the disclaimer, the fingerprint and both plots
    page = tmp_path / "report.html"
    subprocess.run([*command, "--bootstrap", "50", "--format", "html", "--output", str(page)], cwd=ROOT, check=False)
    text = page.read_text()
    assert "not a diagnostic tool" in text and report["cohort"]["sha256"] in text
    assert 'alt="Calibration curve:' in text and 'alt="Decision curve:' in text


# slow: trains the default profile (nested CV) on two thirds of the data
@pytest.mark.integration
@pytest.mark.slow
def test_site_shift_drill(tmp_path: Path) -> None:
    # GIVEN a model trained (default profile) on two thirds of the rows, judged on the last third, then on it
    # after a scanner change
    result = siteshift.drill(tmp_path, resamples=300, profile="default")
    held, shifted = result["reports"]["held_out"], result["reports"]["shifted"]
    # THEN the held-out site's discrimination and calibration are inside what nested CV predicted
    for name in ("auc", "calibration_intercept", "calibration_slope", "balanced.sensitivity"):
        assert held["verdicts"][name].startswith("inside"), (name, held["verdicts"][name])
    assert held["features_moved"] == []
    # AND the shifted scanner is flagged: its moved features by PSI, and its calibration
    assert set(shifted["features_moved"]) == {
        "texture_mean",
        "smoothness_mean",
        "texture_se",
        "smoothness_se",
        "texture_worst",
        "smoothness_worst",
    }
    assert shifted["verdicts"]["calibration_intercept"].startswith("below")
    # AND the estimate without labels tracks genuine windows and misses the shift it cannot see
    estimates = result["estimates"]
    assert abs(estimates["held_out"]["error_mean"]) < 0.05
    assert estimates["shifted"]["error_mean"] > estimates["held_out"]["error_mean"]
