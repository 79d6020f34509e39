"""Exact Shapley values: against enumeration of all coalitions, efficiency, stability, and shap."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from model.errors import ExplanationError
from model.explain import Explainer, LinearExplainer, RbfExplainer, shapley
from model.margin import LinearMargin, MarginModel, RbfMargin
from model.predictor import Predictor
from model.schema import INDEX
from training import data


def brute_force(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, background: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Interventional Shapley values by enumerating all 2^d coalitions."""
    d = len(x)
    value = {}
    for mask in itertools.product([False, True], repeat=d):
        rows = np.where(np.array(mask)[None, :], x[None, :], background)
        value[mask] = float(weights @ f(rows))
    phi = np.zeros(d)
    for mask, v in value.items():
        size = sum(mask)
        for j in range(d):
            if not mask[j]:
                with_j = tuple(True if k == j else m for k, m in enumerate(mask))
                phi[j] += math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d) * (value[with_j] - v)
    return phi


def _explain(explainer: Explainer, model: MarginModel, z: np.ndarray) -> np.ndarray:
    return shapley(explainer, z, model.margin(z))


def _small_problem(d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x_all, y_all = data.embedded().x, data.embedded().y
    cols = np.random.default_rng(seed).choice(30, size=d, replace=False)
    return StandardScaler().fit_transform(x_all[:, cols]), y_all


@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("background_size", [1, 10])
def test_rbf_matches_enumeration(gamma: float, background_size: int) -> None:
    # GIVEN an RBF SVM with d = 8 fitted on standardised features
    z, y = _small_problem(8, seed=int(gamma * 100) + background_size)
    svc = SVC(kernel="rbf", gamma=gamma, C=3.0).fit(z, y)
    rng = np.random.default_rng(1)
    background = z[rng.choice(len(z), size=background_size, replace=False)]
    weights = rng.random(background_size)
    weights /= weights.sum()
    model = RbfMargin(svc.support_vectors_, svc.dual_coef_[0], gamma, float(svc.intercept_[0]))
    explainer = RbfExplainer(model, background, weights)
    for x in z[[0, 100, 300]]:
        # WHEN the quadrature explains a row THEN it equals enumeration within 1e-10
        exact = brute_force(svc.decision_function, x, background, weights)
        np.testing.assert_allclose(_explain(explainer, model, x[None])[0], exact, atol=1e-10, rtol=0)
        # AND the margin model is scikit-learn's decision function
        np.testing.assert_allclose(model.margin(x[None]), svc.decision_function(x[None]), atol=1e-12, rtol=0)


@pytest.mark.parametrize("background_size", [1, 10])
def test_linear_matches_enumeration(background_size: int) -> None:
    z, y = _small_problem(10, seed=3)
    lr = LogisticRegression(max_iter=2000).fit(z, y)
    background = z[:background_size]
    weights = np.full(background_size, 1.0 / background_size)
    model = LinearMargin(lr.coef_[0], float(lr.intercept_[0]))
    explainer = LinearExplainer(model, background, weights)
    for x in z[[5, 200]]:
        exact = brute_force(lr.decision_function, x, background, weights)
        np.testing.assert_allclose(_explain(explainer, model, x[None])[0], exact, atol=1e-10, rtol=0)
        np.testing.assert_allclose(model.margin(x[None]), lr.decision_function(x[None]), atol=1e-12, rtol=0)


def test_odd_dimension_and_one_feature() -> None:
    # Gauss-Legendre with ceil(d/2) nodes is exact for degree d - 1, odd d included.
    rng = np.random.default_rng(0)
    for d in (1, 5):
        sv, bg = rng.normal(size=(7, d)), rng.normal(size=(3, d))
        w = np.array([0.2, 0.3, 0.5])
        alpha = rng.normal(size=7)
        model = RbfMargin(sv, alpha, 0.5, 0.25)
        explainer = RbfExplainer(model, bg, w)
        x = rng.normal(size=d)
        exact = brute_force(model.margin, x, bg, w)
        np.testing.assert_allclose(_explain(explainer, model, x[None])[0], exact, atol=1e-12, rtol=0)


def test_shipped_model_efficiency_on_all_rows(predictor: Predictor, dataset: data.Dataset) -> None:
    explanations = predictor.explain(dataset.x)
    log_odds = predictor.log_odds(dataset.x)
    residual = [
        abs(e.base_value + sum(e.contributions.values()) - lo) for e, lo in zip(explanations, log_odds, strict=True)
    ]
    assert max(residual) <= 1e-10


def test_top_features_and_direction(predictor: Predictor, malignant_row: np.ndarray) -> None:
    [explanation] = predictor.explain(malignant_row)
    assert len(explanation.top) == 5
    sizes = [abs(c.contribution) for c in explanation.top]
    assert sizes == sorted(sizes, reverse=True)
    assert max(abs(v) for v in explanation.contributions.values()) == sizes[0]
    for c in explanation.top:
        assert c.direction == ("malignant" if c.contribution > 0 else "benign")
        assert c.value == malignant_row[list(explanation.contributions).index(c.feature)]


def test_stable_at_extremes(predictor: Predictor, dataset: data.Dataset, benign_row: np.ndarray) -> None:
    # GIVEN inputs 1000 times the training maximum and a row with every concavity zero
    huge = dataset.x.max(axis=0) * 1000
    flat = benign_row.copy()
    for name in ("concavity", "concave_points"):
        for stat in ("mean", "se", "worst"):
            flat[INDEX[f"{name}_{stat}"]] = 0.0
    for row in (huge, flat):
        [e] = predictor.explain(row)
        values = np.array(list(e.contributions.values()))
        assert np.all(np.isfinite(values))
        assert abs(e.base_value + values.sum() - predictor.log_odds(row)[0]) <= 1e-9


def test_efficiency_failure_is_an_error_not_an_answer() -> None:
    class Broken(LinearExplainer):
        def shapley_row(self, z: np.ndarray) -> np.ndarray:
            return super().shapley_row(z) + 1e-6

    model = LinearMargin(np.ones(3), 0.0)
    explainer = Broken(model, np.zeros((1, 3)), np.ones(1))
    with pytest.raises(ExplanationError, match="contributions do not add up"):
        _explain(explainer, model, np.ones((1, 3)))


def test_agrees_with_shap_kernel_explainer(predictor: Predictor, dataset: data.Dataset) -> None:
    shap = pytest.importorskip("shap")
    from shap.utils._legacy import DenseData

    a = predictor.artifact.arrays
    background, weights = a["background"], a["background_weights"]

    def log_odds_of_z(z: np.ndarray) -> np.ndarray:
        return predictor.log_odds(z * a["scaler_scale"] + a["scaler_mean"])

    # GIVEN shap's KernelExplainer on the same weighted background, in the same log-odds space
    kernel = shap.KernelExplainer(
        log_odds_of_z, DenseData(background.copy(), [str(i) for i in range(30)], None, weights.copy())
    )
    rows = predictor.standardise(dataset.x[:6])
    # WHEN shap explains 6 rows three times with different seeds, and we explain them once
    replicates = []
    for seed in range(3):
        np.random.seed(seed)  # KernelExplainer samples coalitions from numpy's global generator
        replicates.append(np.asarray(kernel.shap_values(rows, nsamples=8000, l1_reg=False, silent=True)))
    runs = np.stack(replicates)
    ours = np.array([list(e.contributions.values()) for e in predictor.explain(dataset.x[:6])])
    # THEN the base values agree exactly, and every difference lies within shap's own sampling noise:
    # 8000 coalitions out of 2^30 leave an error of about 0.03 (0.005 needs about 300,000 per row).
    assert abs(float(kernel.expected_value) - predictor.base_value) <= 1e-9
    noise = runs.std(axis=0, ddof=1) / np.sqrt(len(runs))
    z_scores = np.abs(runs.mean(axis=0) - ours) / (noise + 1e-3)
    assert z_scores.max() <= 6.0
    assert np.max(np.abs(runs.mean(axis=0) - ours)) <= 0.05
    np.testing.assert_allclose(runs.sum(axis=2), ours.sum(axis=1)[None, :].repeat(3, 0), atol=1e-6)


def test_absurd_finite_inputs_give_finite_answers(predictor: Predictor) -> None:
    # GIVEN rows at the largest finite doubles and at the smallest subnormals
    for value in (1.7e308, 5e-324):
        row = np.full(30, value)
        [p] = predictor.predict(row, explain=True)
        assert p.explanation is not None
        assert 0.0 <= p.probability_malignant <= 1.0
        assert np.isfinite(p.ood_distance) and np.isfinite(p.log_odds)
        assert abs(p.explanation.base_value + sum(p.explanation.contributions.values()) - p.log_odds) <= 1e-9
    [far] = predictor.predict(np.full(30, 1.7e308))
    assert far.out_of_distribution


def test_linear_explanation_of_inputs_a_million_deviations_out_adds_up() -> None:
    # GIVEN a linear margin and a row at the standardisation cap, where log-odds reach about 1e7
    rng = np.random.default_rng(0)
    model = LinearMargin(rng.normal(size=30), 0.5)
    explainer = LinearExplainer(model, rng.normal(size=(10, 30)), np.full(10, 0.1))
    z = np.full((1, 30), 1e6)
    # WHEN it is explained THEN the contributions add up to the margin within 1e-9 of the largest term
    phi = _explain(explainer, model, z)
    target = model.margin(z)[0] - explainer.base_value
    assert abs(phi.sum() - target) <= 1e-9 * max(1.0, float(np.abs(phi).max()))
