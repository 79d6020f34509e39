"""Input shift: unit slips caught per request both ways; drift counted in windows that keep nothing of anyone."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import drift as drill
from infra.paths import ROOT
from local.events import event
from model.artifact import load
from model.drift import DriftWindow, Results, decile_edges
from model.predictor import Predictor
from model.schema import FEATURE_NAMES, INDEX
from training import data


@pytest.mark.parametrize("factor", [10.0, 0.1])
def test_one_feature_in_the_wrong_unit_is_flagged_and_named(
    predictor: Predictor, benign_row: np.ndarray, factor: float
) -> None:
    # GIVEN a genuine row with its mean area typed in the wrong unit, up or down
    row = benign_row.copy()
    row[INDEX["area_mean"]] *= factor
    row[INDEX["area_worst"]] = max(row[INDEX["area_worst"]], row[INDEX["area_mean"]])
    [genuine, slipped] = predictor.predict(np.stack([benign_row, row]))
    # THEN the genuine row passes, the slipped one is out of distribution and the answer names the feature
    assert not genuine.out_of_distribution
    assert slipped.out_of_distribution
    assert any(w.startswith("area_mean=") and "slip" in w for w in slipped.warnings), slipped.warnings


def test_outer_folds_measure_both_directions_and_swaps(artifact_dir: Path) -> None:
    metrics = json.loads((artifact_dir / "metrics.json").read_text())
    ood = metrics["out_of_distribution"]
    for key in (
        "cv_false_flag_rate",
        "cv_detection_rate_one_feature_times_10",
        "cv_detection_rate_one_feature_over_10",
        "cv_detection_rate_two_columns_swapped",
    ):
        assert 0.0 <= ood[key]["mean"] <= 1.0 and ood[key]["n"] == 3, key
    # The quick profile's three folds are noisy; the default profile's figures are in the README.
    assert ood["cv_false_flag_rate"]["mean"] <= 0.03
    assert ood["cv_detection_rate_one_feature_over_10"]["mean"] >= 0.85
    assert set(metrics["ood_per_feature"]) == set(FEATURE_NAMES)


def test_window_counts_histogram_and_psi() -> None:
    # GIVEN training rows with a known decile structure
    rng = np.random.default_rng(0)
    train = rng.lognormal(size=(1000, 30))
    edges, expected = decile_edges(train)
    arrays = {
        "scaler_mean": train.mean(axis=0),
        "scaler_scale": train.std(axis=0),
        "drift_edges": edges,
        "drift_expected": expected,
    }
    window = DriftWindow(arrays, size=20, min_requests=2)
    rows = train[:20].copy()
    rows[:, 3] *= 10  # one feature in the wrong unit
    probability = np.linspace(0.01, 0.99, 20)
    # WHEN 19 rows arrive THEN nothing is reported; at the 20th, one report with the right counts
    for i in range(19):
        flag = np.array([i % 2 == 0])
        assert window.add(rows[i : i + 1], Results(probability[i : i + 1], flag, flag, flag), 2.0) is None
    last = Results(probability[19:], np.array([True]), np.array([False]), np.array([True]))
    report = window.add(rows[19:], last, 40.0)
    assert report is not None and report.predictions == 20 and report.requests == 20
    assert report.counts == {"benign": 9, "malignant": 11, "indeterminate": 10, "out_of_distribution": 11}
    assert report.latency_ms_mean == pytest.approx((19 * 2.0 + 40.0) / 20) and report.latency_ms_max == 40.0
    assert report.histogram == list(np.bincount(np.minimum((probability * 10).astype(int), 9), minlength=10))
    assert report.largest_psi[0] == FEATURE_NAMES[3] and report.psi[FEATURE_NAMES[3]] > 2.0
    observed = np.maximum(np.bincount(np.searchsorted(edges[0], rows[:, 0], side="right"), minlength=10), 0.5) / 20
    exp = np.maximum(expected[0], 0.5 / 20)
    assert report.psi[FEATURE_NAMES[0]] == pytest.approx(float(np.sum((observed - exp) * np.log(observed / exp))))
    assert report.shift[FEATURE_NAMES[3]] > 2 > abs(report.shift[FEATURE_NAMES[0]])
    # AND the window starts again
    assert window.predictions == 0 and window.histogram.sum() == 0


SCRIPT = """
import json, sys
from handler.lambda_function import handler
from local.events import LocalContext
for i, line in enumerate(sys.stdin):
    sys.stdout.write(f"=== request {i}\\n"); sys.stdout.flush()
    out = handler(json.loads(line), LocalContext())
    assert out["statusCode"] == 200, out
"""


def test_a_log_reader_learns_nothing_of_one_request(artifact_dir: Path, examples: dict[str, dict[str, float]]) -> None:
    # GIVEN K = 50 single-record requests with distinctive values, in a fresh process as Lambda runs it
    rows = [dict(examples["malignant" if i % 3 else "benign"]) for i in range(50)]
    for i, row in enumerate(rows):
        row["texture_mean"] = 10.0 + i / 1000 + 0.0001234
    events = "\n".join(json.dumps(event("v2", "POST", "/predict", {"features": r})) for r in rows) + "\n"
    env = {"PATH": "/usr/bin:/bin", "MODEL_DIR": str(artifact_dir), "DRIFT_WINDOW": "50", "LOG_LEVEL": "INFO"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], input=events, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    # WHEN everything the process wrote is read, stdout and stderr
    assert "Traceback" not in result.stderr
    chunks = result.stdout.split("=== request ")[1:]
    assert len(chunks) == 50
    forbidden = ("benign", "malignant", "Malignant", "probability", "Indeterminate", "OutOfDistribution", "psi")
    # THEN nothing written for the first K - 1 requests holds a label, a probability, a flag or a value
    for i, chunk in enumerate(chunks[:-1]):
        assert not any(word in chunk for word in forbidden), (i, chunk[:500])
        assert not any(f"{r['texture_mean']}" in chunk for r in rows), i
    assert not any(f"{r['texture_mean']}" in result.stderr for r in rows)
    # AND at the K-th, exactly one aggregated line with the window's counts and figures
    [line] = [json.loads(line) for line in chunks[-1].splitlines() if '"largest_psi"' in line]
    malignant = sum(1 for i in range(50) if i % 3)
    assert line["window_predictions"] == 50 and line["window_requests"] == 50
    assert line["count_malignant"] == malignant and line["count_benign"] == 50 - malignant
    assert line["MalignantShare"] == [100 * malignant / 50]
    assert sum(line[f"probability_bin_{b}"] for b in range(10)) == 50
    assert {f"psi_{n}" for n in FEATURE_NAMES} <= set(line) and {f"shift_{n}" for n in FEATURE_NAMES} <= set(line)
    metrics = {m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert metrics == {
        "MalignantShare",
        "OutOfDistributionRate",
        "IndeterminateRate",
        "LargestFeaturePsi",
        "EstimatedAccuracy",
    }
    # AND the performance estimated without labels, computed here from the predictor's probabilities
    predictions = Predictor.load(artifact_dir).predict(np.array([[r[n] for n in FEATURE_NAMES] for r in rows]))
    p, said = predictions.probability, predictions.malignant
    expected = {
        "accuracy": float(np.mean(np.where(said, p, 1 - p))),
        "sensitivity": float(p[said].sum() / p.sum()),
        "specificity": float((1 - p)[~said].sum() / (1 - p).sum()),
    }
    for name, value in expected.items():
        assert line[f"estimated_{name}"] == pytest.approx(value, abs=1e-6), name
    assert line["EstimatedAccuracy"] == [pytest.approx(100 * expected["accuracy"], abs=1e-9)]


def test_drift_drill_crosses_the_alarm_for_the_slipped_feature_only(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN 100 genuine rows, then the same rows with the mean area a tenth of its value, one per request
    out = tmp_path / "drift.json"
    command = [sys.executable, "-m", "benchmarks.drift", "--model", str(artifact_dir), "--rows", "100"]
    subprocess.run([*command, "--json", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    # THEN genuine windows stay below the alarm threshold, and every slipped window crosses it for that
    # feature alone
    assert len(result["genuine"]) == len(result["slipped"]) == 2
    assert all(w["largest_psi"] <= drill.ALARM_PSI for w in result["genuine"]), result["genuine"]
    assert all(w["feature_psi"] > drill.ALARM_PSI for w in result["slipped"]), result["slipped"]
    assert all(w["largest_other_psi"] <= drill.ALARM_PSI for w in result["slipped"]), result["slipped"]


def test_training_deciles_are_in_the_artifact(artifact_dir: Path) -> None:
    # GIVEN the training rows, and the deciles computed another way: the standard library's
    # quantiles (its "inclusive" method interpolates as numpy's default does) and a plain count per bin
    x = data.embedded().x
    arrays = load(artifact_dir).arrays
    for j in range(x.shape[1]):
        column = [float(v) for v in x[:, j]]
        edges = statistics.quantiles(column, n=10, method="inclusive")
        # Binned on the stored edges: a value that sits on an edge must not move bins over a last-digit
        # difference between two ways of interpolating the same quantile
        stored = [float(e) for e in arrays["drift_edges"][j]]
        shares = [0.0] * 10
        for value in column:
            shares[sum(1 for e in stored if e <= value)] += 1 / len(column)
        # THEN the artifact holds those edges and those shares, feature by feature
        np.testing.assert_allclose(arrays["drift_edges"][j], edges, rtol=1e-12, atol=0)
        np.testing.assert_allclose(arrays["drift_expected"][j], shares, rtol=0, atol=1e-12)
