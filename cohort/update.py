"""Updating the model for a site: the least change its labelled cohort supports, as a new traceable version.

With LP the deployed model's calibrated log-odds, the candidates are M0, the model as it is; M1,
recalibration-in-the-large, logit p = a + LP (LP as an offset); and M2, logistic recalibration,
logit p = a + b LP (Steyerberg, Clinical Prediction Models, the chapter on updating). Closed testing
chooses among them (Vergouwe et al. 2017, Stat Med 36:4529): M2 against M0 by a likelihood ratio test
with 2 df; if significant, M2 against M1 with 1 df. A tier is chosen only when the cohort meets Riley
et al.'s (2021, Stat Med) minimum sample size for what it estimates, unless the caller overrides that.
Every fit is Newton's method in numpy, with intervals from the observed information.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from cohort.evaluate import Z, auc
from model.arrays import FloatArray, IntArray, sigmoid

NEWTON_STEPS = 100
CONVERGED = 1e-12
MIN_CLASS = 10  # events and non-events below which nothing is fitted, whatever the flags
# Riley et al. (2021): the default target widths of the 95% intervals of each figure.
WIDTH_OE = 0.2
WIDTH_SLOPE = 0.2
WIDTH_C = 0.1
SE_GRID = 1e-4


class UpdateError(ValueError):
    """A cohort that cannot support an update: said with the counts and the rule."""


class Fit(NamedTuple):
    """A candidate: logit p = intercept + slope * LP, with the covariance of what it estimated."""

    name: str
    intercept: float
    slope: float
    covariance: FloatArray  # (2, 2): zero where a coefficient was fixed
    deviance: float  # -2 log-likelihood on the rows it was fitted to

    def log_odds(self, lp: FloatArray) -> FloatArray:
        return np.asarray(self.intercept + self.slope * lp)

    def interval(self, i: int) -> tuple[float, float]:
        value = (self.intercept, self.slope)[i]
        half = Z * math.sqrt(float(self.covariance[i, i]))
        return value - half, value + half


def deviance(y: IntArray, eta: FloatArray) -> float:
    """-2 log-likelihood of labels y under log-odds eta."""
    return float(2.0 * np.sum(np.logaddexp(0.0, eta) - y * eta))


def m0(y: IntArray, lp: FloatArray) -> Fit:
    return Fit("M0", 0.0, 1.0, np.zeros((2, 2)), deviance(y, lp))


def m1(y: IntArray, lp: FloatArray) -> Fit:
    """Recalibration-in-the-large: the intercept with LP as offset; at the optimum sum(y) = sum(expit(a + LP))."""
    a = 0.0
    for _ in range(NEWTON_STEPS):
        mu = sigmoid(a + lp)
        information = float(np.sum(mu * (1 - mu)))
        step = float(np.sum(y - mu)) / information
        a += step
        if abs(step) < CONVERGED:
            break
    mu = sigmoid(a + lp)
    covariance = np.zeros((2, 2))
    covariance[0, 0] = 1.0 / float(np.sum(mu * (1 - mu)))
    return Fit("M1", a, 1.0, covariance, deviance(y, a + lp))


class NotEstimableError(ArithmeticError):
    """The slope cannot be estimated: the log-odds separate the site's classes (the likelihood has no maximum)."""


def m2(y: IntArray, lp: FloatArray) -> Fit:
    """Logistic recalibration: intercept and slope on LP, by Newton's method with step-halving from (0, 0)."""
    design = np.column_stack([np.ones(len(lp)), lp])
    beta = np.zeros(2)
    current = deviance(y, design @ beta)
    for _ in range(NEWTON_STEPS):
        mu = sigmoid(design @ beta)
        information = design.T @ (design * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(information, design.T @ (y - mu))
        except np.linalg.LinAlgError as err:
            raise NotEstimableError("the information matrix is singular") from err
        while (trial := deviance(y, design @ (beta + step))) > current + 1e-9 and np.max(np.abs(step)) > CONVERGED:
            step = step / 2
        beta, current = beta + step, trial
        if np.max(np.abs(step)) < CONVERGED:
            break
    else:
        raise NotEstimableError(f"no convergence in {NEWTON_STEPS} steps (slope {beta[1]:.3g})")
    mu = sigmoid(design @ beta)
    information = design.T @ (design * (mu * (1 - mu))[:, None])
    if np.linalg.cond(information) > 1e12:
        raise NotEstimableError("the information matrix is singular")
    return Fit("M2", float(beta[0]), float(beta[1]), np.linalg.inv(information), current)


def chi2_sf(x: float, df: int) -> float:
    """P(chi-square with df degrees of freedom > x), for df 1 and 2."""
    if df == 1:
        return math.erfc(math.sqrt(max(x, 0.0) / 2.0))
    if df == 2:
        return math.exp(-max(x, 0.0) / 2.0)
    raise ValueError(f"df must be 1 or 2, got {df}")


class Test(NamedTuple):
    compared: str
    deviance_difference: float
    df: int
    p_value: float


def _test(bigger: Fit, smaller: Fit, df: int) -> Test:
    difference = smaller.deviance - bigger.deviance
    return Test(f"{bigger.name} against {smaller.name}", difference, df, chi2_sf(difference, df))


class Choice(NamedTuple):
    """What closed testing chose, and why."""

    fits: dict[str, Fit]
    tests: list[Test]
    chosen: str  # what the tests chose
    allowed: str  # what the sample size allows (M0 < M1 < M2)
    method: str  # the lesser of the two, or what the tests chose under the override


TIERS = ("M0", "M1", "M2")


def closed_test(y: IntArray, lp: FloatArray, alpha: float, allowed: str = "M2") -> Choice:
    """M2 against M0 (2 df): not significant, M0; else M2 against M1 (1 df): not significant, M1; else M2. A tier
    above `allowed` (what the sample size supports) falls back to `allowed`. When the slope is not estimable (the
    log-odds separate the classes), M1 against M0 (1 df)."""
    fits = {f.name: f for f in (m0(y, lp), m1(y, lp))}
    try:
        fits["M2"] = m2(y, lp)
    except NotEstimableError:
        # Separated classes: no slope to estimate, so the closed test reduces to M1 against M0 (1 df).
        tests = [_test(fits["M1"], fits["M0"], 1)]
        chosen = "M1" if tests[0].p_value < alpha else "M0"
        return Choice(fits, tests, chosen, allowed, TIERS[min(TIERS.index(chosen), TIERS.index(allowed))])
    tests = [_test(fits["M2"], fits["M0"], 2)]
    chosen = "M0"
    if tests[0].p_value < alpha:
        tests.append(_test(fits["M2"], fits["M1"], 1))
        chosen = "M2" if tests[1].p_value < alpha else "M1"
    method = TIERS[min(TIERS.index(chosen), TIERS.index(allowed))]
    return Choice(fits, tests, chosen, allowed, method)


# Riley et al. (2021), "Minimum sample size for external validation of a clinical prediction model with a binary
# outcome", criteria 1 to 3; as pmvalsampsize computes them, with the model's own LP distribution on the cohort.


def n_for_observed_expected(prevalence: float, width: float = WIDTH_OE) -> int:
    """Rows for a 95% interval of O/E of `width` around 1: SE(ln O/E) = sqrt((1 - phi) / (n phi)). The SE is
    taken on pmvalsampsize's grid of 1e-4 (the first whose interval is `width` wide), so that the figures are
    its published ones."""
    se = math.asinh(width / 2.0) / Z  # exp(z se) - exp(-z se) = width
    se = math.ceil(se / SE_GRID - 1e-9) * SE_GRID
    return math.ceil((1.0 - prevalence) / (prevalence * se**2))


def slope_variance_per_row(lp: FloatArray) -> float:
    """The calibration slope's variance times n: the inverse of one row's expected information at (a, b) = (0, 1),
    over the LP distribution."""
    w = sigmoid(lp) * (1 - sigmoid(lp))
    information = np.array([[w.mean(), (w * lp).mean()], [(w * lp).mean(), (w * lp**2).mean()]])
    return float(np.linalg.inv(information)[1, 1])


def n_for_slope(lp: FloatArray, width: float = WIDTH_SLOPE) -> int:
    """Rows for a 95% interval of the calibration slope of `width`."""
    return math.ceil(slope_variance_per_row(lp) / (width / (2.0 * Z)) ** 2)


def anticipated_c(lp: FloatArray) -> float:
    """The C statistic the LP distribution implies when the model is calibrated: P(LP_i > LP_j) over pairs
    weighted by p_i (1 - p_j), ties counted half."""
    order = np.argsort(lp, kind="mergesort")
    lp, p = lp[order], sigmoid(lp[order])
    q = 1.0 - p
    # For each row, the benign weight of rows strictly below it and of its ties.
    starts = np.searchsorted(lp, lp, "left")
    ends = np.searchsorted(lp, lp, "right")
    below = np.r_[0.0, np.cumsum(q)]
    wins = below[starts] + 0.5 * (below[ends] - below[starts] - q)
    return float(np.sum(p * wins) / (p.sum() * q.sum() - np.sum(p * q)))


def c_variance(c: float, prevalence: float, n: int) -> float:
    """Newcombe's (2006) variance of the C statistic with n rows."""
    half = n / 2.0 - 1.0
    spread = 1.0 + half * (1.0 - c) / (2.0 - c) + half * c / (1.0 + c)
    return c * (1.0 - c) * spread / (n**2 * prevalence * (1.0 - prevalence))


def n_for_c(c: float, prevalence: float, width: float = WIDTH_C) -> int:
    """The fewest rows whose 95% interval of C is at most `width` wide."""
    low, high = 2, 2
    while 2.0 * Z * math.sqrt(c_variance(c, prevalence, high)) > width:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if 2.0 * Z * math.sqrt(c_variance(c, prevalence, middle)) > width:
            low = middle
        else:
            high = middle
    return high


class SampleSize(NamedTuple):
    """Riley's three minimums beside the cohort's n, and the widths the cohort achieves."""

    n: int
    events: int
    observed_expected: int
    slope: int
    c_statistic: int
    anticipated_c: float
    achieved_width_observed_expected: float
    achieved_width_slope: float
    achieved_width_c: float

    @property
    def allowed(self) -> str:
        """The highest tier the cohort's size supports: M1 needs the O/E criterion, M2 the slope's too."""
        if self.n < self.observed_expected:
            return "M0"
        return "M2" if self.n >= self.slope else "M1"


def sample_size(y: IntArray, lp: FloatArray) -> SampleSize:
    n, prevalence = len(y), float(np.mean(y))
    c = anticipated_c(lp)
    se_oe = math.sqrt((1.0 - prevalence) / (n * prevalence))
    return SampleSize(
        n=n,
        events=int(np.sum(y)),
        observed_expected=n_for_observed_expected(prevalence),
        slope=n_for_slope(lp),
        c_statistic=n_for_c(c, prevalence),
        anticipated_c=c,
        achieved_width_observed_expected=2.0 * math.sinh(Z * se_oe),
        achieved_width_slope=2.0 * Z * math.sqrt(slope_variance_per_row(lp) / n),
        achieved_width_c=2.0 * Z * math.sqrt(c_variance(c, prevalence, n)),
    )


def check_classes(y: IntArray) -> None:
    events = int(np.sum(y))
    if min(events, len(y) - events) < MIN_CLASS:
        raise UpdateError(
            f"the cohort holds {events} malignant and {len(y) - events} benign rows; an update needs at least "
            f"{MIN_CLASS} of each, whatever --allow-small-sample says"
        )


class Performance(NamedTuple):
    calibration_intercept: float
    calibration_slope: float
    auc: float


def performance(y: IntArray, eta: FloatArray) -> Performance:
    """Calibration intercept (eta as offset), slope (on eta; NaN where the classes are separated) and AUC of
    log-odds eta on labels y."""
    try:
        slope = m2(y, eta).slope
    except NotEstimableError:
        slope = math.nan
    return Performance(m1(y, eta).intercept, slope, auc(y, eta))


def procedure(alpha: float, allowed: str) -> Callable[[IntArray, FloatArray], Fit]:
    """The whole update, the choice included, as a function of the cohort: what the bootstrap repeats."""

    def run(y: IntArray, lp: FloatArray) -> Fit:
        choice = closed_test(y, lp, alpha, allowed)
        return choice.fits[choice.method]

    return run


def optimism(
    y: IntArray, lp: FloatArray, fitted: Callable[[IntArray, FloatArray], Fit], resamples: int, seed: int
) -> dict[str, float]:
    """Harrell's bootstrap: the whole procedure on each resample, its performance there less its performance on
    the cohort, averaged; the apparent figures less that optimism."""
    apparent = performance(y, fitted(y, lp).log_odds(lp))
    rng = np.random.default_rng(seed)
    gaps, used = [], 0
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        if min(int(y[i].sum()), len(i) - int(y[i].sum())) < 2:
            continue
        fit = fitted(y[i], lp[i])
        gaps.append(np.subtract(performance(y[i], fit.log_odds(lp[i])), performance(y, fit.log_odds(lp))))
        used += 1
    with np.errstate(invalid="ignore"):
        gap = np.nanmean(gaps, axis=0) if gaps else np.full(3, np.nan)
    out: dict[str, float] = {"resamples": float(used)}
    for name, value, g in zip(Performance._fields, apparent, gap, strict=True):
        out[f"apparent_{name}"] = float(value)
        out[f"optimism_{name}"] = float(g)
        out[f"corrected_{name}"] = float(value - g)
    return out
