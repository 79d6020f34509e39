"""Updating the model for a site: the closed test against simulated truths, the fits against statsmodels, the
sample sizes against pmvalsampsize and a hand calculation, the new version (exact explanations, lineage, golden
examples, the page and /model), and bad input refused with nothing written."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM

from benchmarks import siteshift
from cohort import evaluate as evaluation
from cohort import update
from cohort.evaluate import Z
from infra import golden, package
from infra.paths import ROOT
from model.arrays import sigmoid
from model.manifest import Release
from model.predictor import Predictor
from model.schema import FEATURE_NAMES
from training import data

N = 3000


def _simulated(lp_all: np.ndarray, a0: float, b0: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """N rows resampled from the real log-odds, labels drawn from expit(a0 + b0 LP)."""
    rng = np.random.default_rng(seed)
    lp = lp_all[rng.integers(0, len(lp_all), N)]
    return (rng.random(N) < sigmoid(a0 + b0 * lp)).astype(np.int64), lp


@pytest.mark.parametrize(("a0", "b0", "expected"), [(0.0, 1.0, "M0"), (1.5, 1.0, "M1"), (0.5, 0.5, "M2")])
def test_closed_testing_finds_the_simulated_truth(
    predictor: Predictor, dataset: data.Dataset, a0: float, b0: float, expected: str
) -> None:
    lp_all = predictor.log_odds(dataset.x)
    chosen = [update.closed_test(*_simulated(lp_all, a0, b0, seed), alpha=0.05).method for seed in range(100)]
    # THEN the procedure picks the truth in at least 90 of 100 seeds (the gate overridden: allowed M2)
    assert chosen.count(expected) >= 90, {m: chosen.count(m) for m in update.TIERS}


def test_recalibration_in_the_large_matches_the_observed_events(predictor: Predictor, dataset: data.Dataset) -> None:
    y, lp = _simulated(predictor.log_odds(dataset.x), 1.5, 1.0, 0)
    fit = update.m1(y, lp)
    assert abs(float(y.sum()) - float(sigmoid(fit.intercept + lp).sum())) < 1e-9


def test_the_fits_equal_statsmodels_glm(predictor: Predictor, dataset: data.Dataset) -> None:
    y, lp = _simulated(predictor.log_odds(dataset.x), 0.5, 0.5, 1)
    binomial = Binomial()
    # M1: the intercept with the log-odds as offset
    ours1, theirs1 = update.m1(y, lp), GLM(y, np.ones((N, 1)), family=binomial, offset=lp).fit(tol=1e-12)
    assert ours1.intercept == pytest.approx(theirs1.params[0], abs=1e-6)
    assert math.sqrt(ours1.covariance[0, 0]) == pytest.approx(theirs1.bse[0], abs=1e-6)
    assert ours1.deviance == pytest.approx(theirs1.deviance, abs=1e-6)
    # M2: intercept and slope on the log-odds
    ours2, theirs2 = update.m2(y, lp), GLM(y, np.column_stack([np.ones(N), lp]), family=binomial).fit(tol=1e-12)
    assert [ours2.intercept, ours2.slope] == pytest.approx(list(theirs2.params), abs=1e-6)
    assert np.sqrt(np.diag(ours2.covariance)) == pytest.approx(theirs2.bse, abs=1e-6)
    assert ours2.deviance == pytest.approx(theirs2.deviance, abs=1e-6)
    # M0's deviance is the model's own
    null = GLM(y, np.zeros((N, 1)), family=binomial, offset=lp).fit(tol=1e-12, maxiter=1)
    assert update.m0(y, lp).deviance == pytest.approx(null.deviance, abs=1e-6)
    # AND the tests' p-values are the chi-square's
    from scipy.stats import chi2

    choice = update.closed_test(y, lp, 0.05)
    for test in choice.tests:
        assert test.p_value == pytest.approx(chi2.sf(test.deviance_difference, test.df), rel=1e-9, abs=1e-300)


def test_the_sample_sizes_equal_pmvalsampsize_and_a_hand_calculation() -> None:
    # pmvalsampsize's published example: prevalence 0.018, O/E interval width 1
    assert update.n_for_observed_expected(0.018, 1.0) == 905
    # By hand for WDBC's prevalence, 212 of 569, width 0.2: SE(ln O/E) with exp(z se) - exp(-z se) = 0.2
    phi = 212 / 569
    se = 0.0510  # asinh(0.1) / 1.959964 = 0.050935..., on the 1e-4 grid
    assert update.n_for_observed_expected(phi, 0.2) == math.ceil((1 - phi) / (phi * se**2)) == 648
    # The slope criterion: the inverse of one row's information at (0, 1), by an explicit loop
    lp = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0])
    information = np.zeros((2, 2))
    for value in lp:
        p = 1 / (1 + math.exp(-value))
        information += p * (1 - p) * np.array([[1, value], [value, value * value]]) / len(lp)
    variance = np.linalg.inv(information)[1, 1]
    assert update.n_for_slope(lp, 0.2) == math.ceil(variance / (0.2 / (2 * Z)) ** 2)
    # The anticipated C: every pair weighted by p_i (1 - p_j), by brute force
    p = 1 / (1 + np.exp(-np.r_[lp, 0.5]))
    values = np.r_[lp, 0.5]
    num = den = 0.0
    for i in range(len(values)):
        for j in range(len(values)):
            if i != j:
                weight = p[i] * (1 - p[j])
                num += weight * (1.0 if values[i] > values[j] else 0.5 if values[i] == values[j] else 0.0)
                den += weight
    assert update.anticipated_c(values) == pytest.approx(num / den, abs=1e-12)
    # The C criterion: the fewest n whose Newcombe interval is 0.1 wide
    n = update.n_for_c(0.8, 0.3, 0.1)
    assert (
        2 * Z * math.sqrt(update.c_variance(0.8, 0.3, n)) <= 0.1 < 2 * Z * math.sqrt(update.c_variance(0.8, 0.3, n - 1))
    )


def test_a_small_cohort_is_refused_whatever_the_flags() -> None:
    with pytest.raises(update.UpdateError, match="9 malignant and 40 benign rows; an update needs at least 10"):
        update.check_classes(np.array([1] * 9 + [0] * 40))


def _site(tmp_path: Path, predictor: Predictor, dataset: data.Dataset) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A miscalibrated site: real rows, labels drawn from expit(1.0 + 0.5 LP); two halves as CSV files."""
    rng = np.random.default_rng(7)
    x = dataset.x[rng.integers(0, len(dataset.y), N)] * rng.uniform(0.999, 1.001, (N, 1))
    y = (rng.random(N) < sigmoid(1.0 + 0.5 * predictor.log_odds(x))).astype(np.int64)
    first = siteshift.write_csv(tmp_path / "first.csv", x[: N // 2], y[: N // 2])
    second = siteshift.write_csv(tmp_path / "second.csv", x[N // 2 :], y[N // 2 :])
    return first, second, x[N // 2 :], y[N // 2 :]


def _update(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "model", "update", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def _tree_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def updated(
    tmp_path_factory: pytest.TempPathFactory, artifact_dir: Path, predictor: Predictor, dataset: data.Dataset
) -> dict[str, Any]:
    """The quick model updated on the first half of a simulated miscalibrated site."""
    work = tmp_path_factory.mktemp("update")
    first, second, x, y = _site(work, predictor, dataset)
    before = _tree_hash(artifact_dir)
    out = work / "updated"
    done = _update(
        str(first), "--model", str(artifact_dir), "--out", str(out), "--site", "north", "--allow-small-sample"
    )
    assert done.returncode == 0, done.stderr
    return {"out": out, "summary": json.loads(done.stdout), "x": x, "y": y, "second": second, "parent_hash": before}


@pytest.mark.integration
def test_the_update_improves_the_other_half_of_the_site(updated: dict[str, Any], predictor: Predictor) -> None:
    child = Predictor.load(updated["out"])
    x, y = updated["x"], updated["y"]
    # THEN the held-back half's calibration is closer to intercept 0 and slope 1 than the parent's
    before = evaluation.calibration(y, predictor.log_odds(x))
    after = evaluation.calibration(y, child.log_odds(x))
    assert abs(after["calibration_intercept"]) < abs(before["calibration_intercept"])
    assert abs(after["calibration_slope"] - 1) < abs(before["calibration_slope"] - 1)
    # AND the lineage says how: M2, the tests, the override, the criteria
    lineage = child.manifest.lineage
    assert lineage is not None and lineage.method == "M2" and lineage.parent_version == predictor.version
    assert lineage.site == "north" and lineage.n == N // 2 and [t.df for t in lineage.tests] == [2, 1]
    assert lineage.override.startswith("--allow-small-sample: M2 chosen with n = 1500")
    assert {"observed_expected", "slope", "c_statistic"} <= set(lineage.sample_size)
    assert "--site north" in lineage.command and len(lineage.cohort_sha256) == 64
    # AND the summary carries the optimism-corrected figures
    optimism = updated["summary"]["optimism"]
    assert optimism["resamples"] > 150 and "corrected_calibration_slope" in optimism


@pytest.mark.integration
def test_the_new_version_explains_exactly_and_reproduces_its_golden_examples(
    updated: dict[str, Any], predictor: Predictor
) -> None:
    child = Predictor.load(updated["out"])
    lineage = child.manifest.lineage
    assert lineage is not None
    x = updated["x"][:50]
    a, b = lineage.coefficients["intercept"], lineage.coefficients["slope"]
    # THEN its log-odds are the parent's recalibrated, and the Shapley values still add up to them
    assert child.log_odds(x) == pytest.approx(a + b * predictor.log_odds(x), abs=1e-9)
    for row, explanation in zip(child.log_odds(x), child.explain(x), strict=True):
        total = explanation.base_value + sum(explanation.contributions.values())
        assert total == pytest.approx(row, abs=1e-9)
    # AND its golden examples are its own, which packaging checks as a release would
    assert child.version != predictor.version and child.manifest.golden != predictor.manifest.golden
    package.self_check(updated["out"])

    def ask(features: Any, operating_point: str) -> tuple[int, dict[str, Any]]:
        row = np.array([[features[f] for f in FEATURE_NAMES]])
        [p] = child.predict(row, operating_point=operating_point, explain=True)
        return 200, {**p.as_dict(), "model_version": child.version}

    m = child.manifest
    assert golden.check(Release(m.model_version, m.examples, m.golden), ask) == []
    # AND the drift reference is the site's, the out-of-distribution reference the training data's
    arrays, parent = child.artifact.arrays, predictor.artifact.arrays
    assert not np.array_equal(arrays["drift_edges"], parent["drift_edges"])
    assert np.array_equal(arrays["ood_center"], parent["ood_center"])
    assert "recomputed on 1500 site rows" in lineage.conformal


@pytest.mark.integration
def test_the_card_evaluate_and_the_parent_name_each_other(updated: dict[str, Any], predictor: Predictor) -> None:
    card = (updated["out"] / "MODEL_CARD.md").read_text()
    assert "## Updated for site north" in card and predictor.version in card and "not a diagnostic tool" in card
    assert "### Model details" in card  # the parent's card, one level down
    # WHEN the new version is evaluated on the site's other half THEN its figures stand beside the parent's
    done = subprocess.run(
        [sys.executable, "-m", "model", "evaluate", str(updated["second"]), "--model", str(updated["out"]),
         "--bootstrap", "50"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["parent"]["model_version"] == predictor.version and report["parent"]["site"] == "north"
    assert abs(report["calibration_intercept"]) < abs(report["parent"]["calibration_intercept"])


@pytest.mark.integration
def test_the_function_shows_the_lineage(updated: dict[str, Any], serve: Any, predictor: Predictor) -> None:
    import httpx

    base = serve(updated["out"])
    card = httpx.get(f"{base}/model", timeout=30).json()
    assert card["lineage"]["parent_version"] == predictor.version and card["lineage"]["site"] == "north"
    page = httpx.get(f"{base}/", timeout=30).text
    assert f"Updated for the site north from model {predictor.version} (M2)" in page
    # AND a trained model's card has no lineage
    assert "lineage" not in predictor.card()


@pytest.mark.integration
def test_an_unlabelled_cohort_takes_a_known_prevalence(
    tmp_path: Path, artifact_dir: Path, predictor: Predictor, dataset: data.Dataset
) -> None:
    cohort = tmp_path / "unlabelled.csv"
    lines = siteshift.write_csv(tmp_path / "l.csv", dataset.x[:300], dataset.y[:300]).read_text().splitlines()
    cohort.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 1) for line in lines) + "\n")
    done = _update(str(cohort), "--model", str(artifact_dir), "--out", str(tmp_path / "new"), "--prevalence", "0.1")
    assert done.returncode == 0, done.stderr
    child = Predictor.load(tmp_path / "new")
    assert float(child.probability(dataset.x[:300]).mean()) == pytest.approx(0.1, abs=1e-9)
    lineage = child.manifest.lineage
    assert lineage is not None and lineage.method == "M1 from a known prevalence" and lineage.events is None
    assert lineage.coefficients["slope"] == 1.0 and "no labels" in lineage.conformal


@pytest.mark.integration
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown label", "line 3, column 'diagnosis': unknown label 'X'"),
        ("no labels", "no label column; add 'diagnosis'"),
        ("not an artifact", "model artifact incomplete"),
        ("out exists", "exists; the new version goes to a new directory"),
        ("few events", "an update needs at least 10 of each"),
        ("prevalence and labels", "the cohort has labels; drop --prevalence"),
    ],
)
def test_bad_input_is_refused_by_name_and_nothing_is_written(
    tmp_path: Path, artifact_dir: Path, dataset: data.Dataset, case: str, message: str
) -> None:
    cohort = siteshift.write_csv(tmp_path / "cohort.csv", dataset.x[:200], dataset.y[:200])
    lines = cohort.read_text().splitlines()
    model, out, extra = artifact_dir, tmp_path / "new", []
    if case == "unknown label":
        cells = lines[2].split(",")
        lines[2] = ",".join([cells[0], "X", *cells[2:]])
    elif case == "no labels":
        lines = [",".join(c for i, c in enumerate(line.split(",")) if i != 1) for line in lines]
    elif case == "not an artifact":
        model = tmp_path
    elif case == "out exists":
        out.mkdir()
    elif case == "few events":
        lines = [lines[0], *[line for line in lines[1:] if ",B," in line], *[x for x in lines if ",M," in x][:5]]
    else:
        extra = ["--prevalence", "0.2"]
    cohort.write_text("\n".join(lines) + "\n")
    before = _tree_hash(artifact_dir)
    done = _update(str(cohort), "--model", str(model), "--out", str(out), *extra)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert (case == "out exists") == out.exists() and not list(tmp_path.glob(".new.partial-*"))
    assert _tree_hash(artifact_dir) == before


@pytest.mark.integration
@pytest.mark.sam
def test_the_canary_hook_passes_the_updated_version_and_fails_the_parents_answers(
    updated: dict[str, Any], artifact_dir: Path, tmp_path: Path
) -> None:
    from infra import pretraffic
    from local.emulator import running
    from model import manifest as manifest_io

    # GIVEN the updated version packaged as a model layer, served by the real handler under the emulator
    layer = tmp_path / "layer"
    package.package(updated["out"], layer)
    with running(model_dir=layer / "model", log_path=tmp_path / "emulator.log") as emulator:

        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            payload: dict[str, Any] = emulator.invoke(event).payload
            return payload

        calls: list[tuple[str, str, str]] = []
        event = {"DeploymentId": "d-UPDATE", "LifecycleEventHookExecutionId": "exec-1"}
        # WHEN CodeDeploy's pre-traffic hook checks it against its own golden examples THEN it may take traffic
        status = pretraffic.run(event, invoke, lambda *a: calls.append(a), layer / "model" / "manifest.json")
        assert status == "Succeeded" and calls == [("d-UPDATE", "exec-1", "Succeeded")]
        # AND the parent's golden examples do not pass against it: the release check tells versions apart
        parent = manifest_io.release(json.loads((artifact_dir / "manifest.json").read_text()))
        assert pretraffic.check(invoke, parent)
