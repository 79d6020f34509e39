"""Repeated stratified nested cross-validation: the inner loop tunes, the outer loop estimates.

Everything chosen from data (hyper-parameters, calibration method, thresholds, conformal
quantiles, the OOD threshold) is chosen inside the outer training part and judged on the outer
test part, exactly as the final model will be chosen on all data.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    cross_val_predict,
)

from model.arrays import FloatArray, IntArray
from model.schema import BLOCKS
from training import metrics, ood
from training.families import Family, Profile
from training.results import FamilyOnSplit, PointOutcome, Policy, RobustOutcome, SplitResult

log = logging.getLogger("training")


@dataclass(frozen=True)
class Fitted:
    """A tuned family fitted on some rows, with out-of-fold probabilities on those rows."""

    estimator: BaseEstimator
    params: dict[str, Any]
    oof_probability: FloatArray | None  # deployable families only

    def probability(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.estimator.predict_proba(x)[:, 1])


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Grid keys without their pipeline prefixes, values as JSON-friendly scalars."""
    out: dict[str, Any] = {}
    for key, value in sorted(params.items()):
        short = key.rsplit("__", 1)[-1]
        out["calibration" if short == "method" else short] = value.item() if hasattr(value, "item") else value
    return out


def fit_family(family: Family, x: FloatArray, y: IntArray, profile: Profile, seed: int) -> Fitted:
    """Tune by inner CV on log loss, refit on all of x; out-of-fold probabilities for deployables."""
    inner = StratifiedKFold(profile.inner_folds, shuffle=True, random_state=seed)
    search = GridSearchCV(
        family.estimator(seed, profile.calibration_folds),
        family.grid(profile.name),
        scoring="neg_log_loss",
        cv=inner,
        n_jobs=1,
    )
    candidates = list(ParameterGrid(search.param_grid))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if len(candidates) == 1:  # nothing to tune: inner CV would be wasted work
            best, params = clone(search.estimator).set_params(**candidates[0]).fit(x, y), candidates[0]
        else:
            search.fit(x, y)
            best, params = search.best_estimator_, search.best_params_
        oof = None
        if family.deployable:
            oof = cross_val_predict(clone(best), x, y, cv=inner, method="predict_proba")[:, 1]
    return Fitted(best, _plain(params), oof)


def policy(y: IntArray, oof: FloatArray) -> tuple[dict[str, float], dict[float, tuple[float, float]]]:
    """Operating-point thresholds and conformal thresholds, chosen on out-of-fold probabilities."""
    thresholds = {
        "balanced": metrics.balanced_threshold(y, oof),
        "screening": metrics.screening_threshold(y, oof),
    }
    conformal = {alpha: metrics.conformal_thresholds(y, oof, alpha) for alpha in metrics.ALPHAS}
    return thresholds, conformal


NOISE_LEVELS = (0.01, 0.05, 0.10)
SE_COLUMNS = list(BLOCKS["se"])


def perturbations(x_train: FloatArray, x_test: FloatArray, seed: int) -> dict[str, FloatArray]:
    """Test rows under measurement noise (seeded, multiplicative) and with the se block lost."""
    rng = np.random.default_rng(seed)
    out = {
        f"noise_{int(level * 100)}pct": x_test * (1 + level * rng.standard_normal(x_test.shape)).clip(min=0)
        for level in NOISE_LEVELS
    }
    lost = x_test.copy()
    lost[:, SE_COLUMNS] = np.median(x_train[:, SE_COLUMNS], axis=0)
    out["se_block_replaced_by_medians"] = lost
    return out


def robustness(
    fitted: Fitted, y: IntArray, cases: dict[str, FloatArray], threshold: float, bounds: tuple[float, float]
) -> dict[str, RobustOutcome[float]]:
    """Accuracy and sensitivity at `threshold` and the indeterminate share, for each perturbed copy."""
    out = {}
    for name, x in cases.items():
        p = fitted.probability(x)
        sens, _ = metrics.rates(y, p, threshold)
        out[name] = RobustOutcome(
            accuracy=float(np.mean((p >= threshold) == (y == 1))),
            sensitivity=sens,
            indeterminate=metrics.conformal_outcome(y, p, bounds).indeterminate,
        )
    return out


@dataclass(frozen=True)
class Study:
    """What every outer split compares: the families, the data, the profile and the seed."""

    families: tuple[Family, ...]
    x: FloatArray
    y: IntArray
    profile: Profile
    seed: int


@dataclass(frozen=True)
class OuterSplit:
    repeat: int
    fold: int
    train: NDArray[np.intp]
    test: NDArray[np.intp]


def judge(
    fitted: Fitted, y_train: IntArray, y_test: IntArray, p: FloatArray, cases: dict[str, FloatArray]
) -> Policy[float]:
    """A deployable family's policy, chosen on its out-of-fold probabilities, judged on the test rows (p)."""
    if fitted.oof_probability is None:
        raise ValueError("only a deployable family has a policy to judge")
    thresholds, sets = policy(y_train, fitted.oof_probability)
    points = {}
    for name, t in thresholds.items():
        sens, spec = metrics.rates(y_test, p, t)
        points[name] = PointOutcome(threshold=t, sensitivity=sens, specificity=spec)
    return Policy(
        operating_points=points,
        conformal={alpha: metrics.conformal_outcome(y_test, p, bounds) for alpha, bounds in sets.items()},
        robustness=robustness(fitted, y_test, cases, thresholds["balanced"], sets[0.05]),
    )


def run_split(study: Study, split: OuterSplit) -> SplitResult:
    """Tune and fit every family on the split's training rows; judge each on its test rows."""
    x, y, train, test = study.x, study.y, split.train, split.test
    split_seed = study.seed + 1000 * split.repeat + split.fold
    cases = {"clean": x[test], **perturbations(x[train], x[test], split_seed)}
    families = {}
    for family in study.families:
        fitted = fit_family(family, x[train], y[train], study.profile, split_seed)
        p = fitted.probability(x[test])
        families[family.name] = FamilyOnSplit(
            probability=p,
            params=fitted.params,
            scores=metrics.scores(y[test], p),
            policy=judge(fitted, y[train], y[test], p, cases) if fitted.oof_probability is not None else None,
        )
    return SplitResult(split.repeat, split.fold, test, families, ood.evaluate(x[train], y[train], x[test], split_seed))


def nested_cv(study: Study, jobs: int) -> list[SplitResult]:
    """Every outer split of the repeated stratified K-fold, in parallel; progress is logged as folds finish."""
    profile = study.profile
    outer = RepeatedStratifiedKFold(n_splits=profile.outer_folds, n_repeats=profile.repeats, random_state=study.seed)
    splits = [
        OuterSplit(i // profile.outer_folds, i % profile.outer_folds, train, test)
        for i, (train, test) in enumerate(outer.split(study.x, study.y))
    ]
    started = time.perf_counter()
    results = Parallel(n_jobs=jobs, return_as="generator_unordered")(delayed(run_split)(study, s) for s in splits)
    done: list[SplitResult] = []
    for result in results:
        done.append(result)
        elapsed = time.perf_counter() - started
        rest = elapsed / len(done) * (len(splits) - len(done))
        log.info(
            "nested CV: outer fold %d of %d done, %.0f s elapsed, about %.0f s to go",
            len(done),
            len(splits),
            elapsed,
            rest,
        )
    return sorted(done, key=lambda r: (r.repeat, r.fold))
