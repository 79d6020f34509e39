"""Counterfactuals and similar cases, against independent searches: scipy's SLSQP on every feature subset for
the linear model (exact), a grid over every pair of features for the RBF SVM, brute force for the cases."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from model import counterfactual as cf
from model.predictor import CaseOptions, Predictor
from model.schema import FEATURE_NAMES, N_FEATURES, WORST_OF_MEAN
from training import data

LABELS = ("benign", "malignant")
ROWS = (0, 1, 19, 20, 37, 70, 146, 300, 420, 568)  # benign and malignant rows, near and far from the threshold


@pytest.fixture(scope="module")
def linear(linear_artifact_dir: Path) -> Predictor:
    return Predictor.load(linear_artifact_dir)


def _log_odds(p: Predictor, x: np.ndarray) -> np.ndarray:
    return np.asarray(p.log_odds(np.atleast_2d(x)))


def _hard_rules_hold(p: Predictor, x: np.ndarray, changed: np.ndarray) -> None:
    assert np.all(changed >= p.training_min - 1e-12) and np.all(changed <= p.training_max + 1e-12)
    assert all(changed[w] >= changed[m] - 1e-12 for m, w in WORST_OF_MEAN)


def _slsqp_min(p: Predictor, x: np.ndarray, subset: tuple[int, ...], target: float, up: bool) -> float:
    """The least distance on one subset, by a general solver: inf when it finds no feasible point."""
    mean, scale = p.space.mean, p.space.scale
    coef = p.space.slope * p.margin_model.coef
    z = (x - mean) / scale
    current = float(_log_odds(p, x)[0])
    cols = list(subset)

    def full(d: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[cols] = x[cols] + d * scale[cols]
        return out

    constraints = [{"type": "eq", "fun": lambda d: coef[cols] @ d - (target - current)}]
    for m, w in WORST_OF_MEAN:
        if m in subset or w in subset:
            constraints.append({"type": "ineq", "fun": lambda d, m=m, w=w: full(d)[w] - full(d)[m]})
    bounds = [((p.training_min[j] - x[j]) / scale[j], (p.training_max[j] - x[j]) / scale[j]) for j in cols]
    start = np.clip(np.zeros(len(cols)), [b[0] for b in bounds], [b[1] for b in bounds])
    found = minimize(
        lambda d: d @ d,
        start,
        jac=lambda d: 2 * d,
        bounds=bounds,
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    del z, up
    ok = found.success and all(
        c["fun"](found.x) >= -1e-9 if c["type"] == "ineq" else abs(c["fun"](found.x)) < 1e-7 for c in constraints
    )
    return math.sqrt(float(found.x @ found.x)) if ok else math.inf


@pytest.mark.parametrize("row", ROWS)
def test_the_linear_counterfactual_is_the_exact_minimum_over_every_subset(
    linear: Predictor, dataset: data.Dataset, row: int
) -> None:
    x = dataset.x[row]
    before = linear.predict(x[None])
    label = LABELS[int(before.malignant[0])]
    threshold = linear.operating_points["balanced"]
    boundary = math.log(threshold / (1 - threshold))
    up = label == "benign"
    target = boundary + cf.CROSSING if up else boundary - cf.CROSSING
    # WHEN the search is asked for at most two features
    changed, distance = cf.search(linear.space, x, threshold, 2)
    # THEN no subset of at most two features, solved by SLSQP, is nearer (every subset that could be is solved)
    coef = linear.space.slope * linear.margin_model.coef
    gap = target - float(_log_odds(linear, x)[0])
    # Relaxations that can only make a subset look better: no rule and no box (a floor on its distance),
    # and the box without the rules (the most it can move the log-odds).
    low = (linear.training_min - x) / linear.space.scale * coef
    high = (linear.training_max - x) / linear.space.scale * coef
    reach = np.maximum(low, high) if gap > 0 else -np.minimum(low, high)
    best = math.inf
    for size in (1, 2):
        for subset in itertools.combinations(range(N_FEATURES), size):
            cols = list(subset)
            floor = abs(gap) / max(float(np.linalg.norm(coef[cols])), 1e-300)
            if floor < min(best, distance) + 1e-9 and reach[cols].sum() >= abs(gap) - 1e-12:
                best = min(best, _slsqp_min(linear, x, subset, target, up))
    if changed is None:
        assert best == math.inf
        return
    assert distance == pytest.approx(best, rel=1e-6, abs=1e-9)
    # AND the change is real: the model answers otherwise, the rules hold, at most two features move
    after = linear.predict(changed[None])
    assert LABELS[int(after.malignant[0])] != label
    _hard_rules_hold(linear, x, changed)
    assert 1 <= len(cf.changes_of(x, changed)) <= 2


def _grid_min(p: Predictor, x: np.ndarray, threshold: float, steps: int = 21) -> float:
    """The least distance over a grid of every pair of features (and every single one), rules kept."""
    label_now = bool(p.probability(x[None])[0] >= threshold)
    best = math.inf
    grids = [np.linspace(p.training_min[j], p.training_max[j], steps) for j in range(N_FEATURES)]
    for a, b in itertools.combinations(range(N_FEATURES), 2):
        va, vb = np.meshgrid(grids[a], grids[b], indexing="ij")
        rows = np.repeat(x[None], va.size, axis=0)
        rows[:, a], rows[:, b] = va.ravel(), vb.ravel()
        ordered = np.all(rows[:, [w for _, w in WORST_OF_MEAN]] >= rows[:, [m for m, _ in WORST_OF_MEAN]], axis=1)
        flipped = (p.probability(rows) >= threshold) != label_now
        hit = ordered & flipped
        if hit.any():
            z = (rows[hit] - x) / p.space.scale
            best = min(best, float(np.sqrt((z * z).sum(axis=1)).min()))
    return best


def test_the_rbf_counterfactual_is_verified_and_beats_a_grid(predictor: Predictor, dataset: data.Dataset) -> None:
    assert predictor.manifest.model.kind == "rbf"
    threshold = predictor.operating_points["balanced"]
    ratios = []
    for row in ROWS[::2]:
        x = dataset.x[row]
        label = LABELS[int(predictor.predict(x[None]).malignant[0])]
        found = predictor.counterfactual(x, label, "balanced", 2)
        grid = _grid_min(predictor, x, threshold)
        if not found.found:
            assert grid == math.inf, (row, grid)
            continue
        # The predictor verified it; check again, and its rules
        changed = x.copy()
        for change in found.changes:
            changed[FEATURE_NAMES.index(change.feature)] = change.after
        assert LABELS[int(predictor.predict(changed[None]).malignant[0])] == found.label != label
        _hard_rules_hold(predictor, x, changed)
        # A grid point that crosses is a feasible answer: the search must not be farther
        assert found.distance is not None and found.distance <= grid + 1e-9, (row, found.distance, grid)
        ratios.append(found.distance / grid)
    assert ratios


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
