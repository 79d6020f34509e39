"""Counterfactuals and similar cases, against independent searches: scipy's SLSQP on every feature subset for
the linear model (exact), a grid over every pair of features for the RBF SVM, brute force for the cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks import cases as cases_benchmark
from model import counterfactual as cf
from model.predictor import CaseOptions, Predictor
from model.schema import FEATURE_NAMES, N_FEATURES, WORST_OF_MEAN
from training import data

LABELS = ("benign", "malignant")
ROWS = (0, 1, 19, 20, 37, 70, 146, 300, 420, 568)  # benign and malignant rows, near and far from the threshold


@pytest.fixture(scope="module")
def linear(linear_artifact_dir: Path) -> Predictor:
    return Predictor.load(linear_artifact_dir)


def _hard_rules_hold(p: Predictor, x: np.ndarray, changed: np.ndarray) -> None:
    assert np.all(changed >= p.training_min - 1e-12) and np.all(changed <= p.training_max + 1e-12)
    assert all(changed[w] >= changed[m] - 1e-12 for m, w in WORST_OF_MEAN)


@pytest.mark.parametrize("row", ROWS)
def test_the_linear_counterfactual_is_the_exact_minimum_over_every_subset(
    linear: Predictor, dataset: data.Dataset, row: int
) -> None:
    x = dataset.x[row]
    label = LABELS[int(linear.predict(x[None]).malignant[0])]
    threshold = linear.operating_points["balanced"]
    # WHEN the search is asked for at most two features
    changed, distance = cf.search(linear.space, x, threshold, 2)
    # THEN no subset of at most two features, solved by SLSQP, is nearer (every subset that could be is solved)
    best = cases_benchmark.linear_baseline(linear, x, distance, 2)
    if changed is None:
        assert best == math.inf
        return
    assert distance == pytest.approx(best, rel=1e-6, abs=1e-9)
    # AND the change is real: the model answers otherwise, the rules hold, at most two features move
    after = linear.predict(changed[None])
    assert LABELS[int(after.malignant[0])] != label
    _hard_rules_hold(linear, x, changed)
    assert 1 <= len(cf.changes_of(x, changed)) <= 2


def test_the_rbf_counterfactual_is_verified_and_near_a_grids_best(predictor: Predictor, dataset: data.Dataset) -> None:
    assert predictor.manifest.model.kind == "rbf"
    ratios = []
    for row in ROWS:
        x = dataset.x[row]
        label = LABELS[int(predictor.predict(x[None]).malignant[0])]
        found = predictor.counterfactual(x, label, "balanced", 2)
        grid = cases_benchmark.rbf_baseline(predictor, x)
        if not found.found:
            assert grid == math.inf, (row, grid)
            continue
        # The predictor verified it; check again, and its rules
        changed = x.copy()
        for change in found.changes:
            changed[FEATURE_NAMES.index(change.feature)] = change.after
        assert LABELS[int(predictor.predict(changed[None]).malignant[0])] == found.label != label
        _hard_rules_hold(predictor, x, changed)
        assert found.distance is not None
        ratios.append(found.distance / grid)
    # A grid point that crosses is a feasible answer. The search is local: on average it is not farther
    # than the grid's best, and never far behind it (benchmarks.cases gives the figures over every 10th row).
    assert len(ratios) >= 5
    assert sum(ratios) / len(ratios) <= 1.02 and max(ratios) <= 1.3, ratios


def test_similar_cases_are_the_brute_force_nearest(predictor: Predictor, dataset: data.Dataset) -> None:
    x = dataset.x[[5, 300]].copy()
    x[1, 0] *= 1.01  # not a training row
    batch = predictor.with_cases(predictor.predict(x), CaseOptions(similar=7))
    assert batch.similar_cases is not None
    z_train = (dataset.x - predictor.space.mean) / predictor.space.scale
    for i, found in enumerate(batch.similar_cases):
        z = (x[i] - predictor.space.mean) / predictor.space.scale
        distances = [math.dist(z, t) for t in z_train]
        order = sorted(range(len(distances)), key=lambda j: (distances[j], j))[:7]
        assert [c.distance for c in found.cases] == pytest.approx([distances[j] for j in order], rel=1e-12)
        assert [c.diagnosis for c in found.cases] == [LABELS[int(dataset.y[j])] for j in order]
        assert list(found.cases[0].features) == list(dataset.x[order[0]])
        label = LABELS[int(batch.malignant[i])]
        assert found.agreeing == sum(c.diagnosis == label for c in found.cases)
        assert found.record_is_training_case == (i == 0)
    assert batch.similar_cases[0].cases[0].distance == 0.0


def test_a_counterfactual_that_cannot_exist_is_said_plainly(linear: Predictor, dataset: data.Dataset) -> None:
    malignant = dataset.x[int(np.argmax(linear.probability(dataset.x)))]
    found = linear.counterfactual(malignant, "malignant", "balanced", 1)
    if found.found:  # one feature is enough for this model: then it must be verified
        assert found.label == "benign"
    else:
        assert found.changes == () and found.label is None
        words = found.statement("malignant")
        assert words.startswith("no change of at most 1 features") and "patient" not in words


def test_statements_speak_of_the_model(linear: Predictor, dataset: data.Dataset) -> None:
    x = dataset.x[20]
    label = LABELS[int(linear.predict(x[None]).malignant[0])]
    found = linear.counterfactual(x, label, "balanced", 3)
    assert found.found
    words = found.statement(label)
    assert words.startswith(f"the model would answer {found.label} if ")
    for change in found.changes:
        assert f"{change.feature} were {change.after:,.4g} instead of {change.before:,.4g}" in words


def test_absurd_but_finite_records_get_finite_answers(predictor: Predictor, linear: Predictor) -> None:
    import json

    x = np.full((1, N_FEATURES), 1.6e308)
    for model in (predictor, linear):
        batch = model.with_cases(model.predict(x), CaseOptions(counterfactual_features=3, similar=3))
        answer = batch[0].as_dict()
        json.dumps(answer, allow_nan=False)  # raises on inf or nan
        assert answer["similar_cases"]["cases"][0]["distance"] > 1e5


# The RBF model's search over all 569 rows takes about 11 s: it runs in `make test`.
@pytest.mark.parametrize("model", ["linear", pytest.param("rbf", marks=pytest.mark.slow)])
def test_every_training_row_gets_a_verified_answer_or_a_plain_no(
    linear: Predictor, predictor: Predictor, dataset: data.Dataset, model: str
) -> None:
    p = linear if model == "linear" else predictor
    batch = p.with_cases(p.predict(dataset.x), CaseOptions(counterfactual_features=3))
    assert batch.counterfactuals is not None
    for x, found, malignant in zip(dataset.x, batch.counterfactuals, batch.malignant, strict=True):
        if not found.found:
            continue
        changed = x.copy()
        for change in found.changes:
            changed[FEATURE_NAMES.index(change.feature)] = change.after
        _hard_rules_hold(p, x, changed)
        assert found.label == LABELS[int(p.predict(changed[None]).malignant[0])] != LABELS[int(malignant)]
        assert 1 <= len(found.changes) <= 3
