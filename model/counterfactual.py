"""Counterfactuals: the smallest change to a few features that moves the model's answer across its threshold.

Distances are in the scaler's standard deviations (Euclidean, standardised space). A change may touch at
most `max_features` features, keeps each changed value inside its training range, and keeps every hard
rule (a `*_worst` never below its `*_mean`; nothing negative, which the training ranges imply).

For a linear margin the log-odds are affine in z, and the nearest point across the threshold on a
given feature subset is a projection onto a hyperplane within a box: exact, solved for every subset at
once. A `*_worst` and its `*_mean` both in the subset add the candidate where they are equal (the
rule's boundary), so the minimum over candidates is the exact minimum. For an RBF margin the same
solver runs on the margin's linearisation, the best candidates are refined by re-linearising where they
land, and each is pulled back along its segment to the threshold; the predictor verifies the answer.

A counterfactual is a statement about the model, not about a patient or a tumour.
"""

import itertools
import math
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from model.arrays import BoolArray, FloatArray, IntArray, capped
from model.margin import LinearMargin, MarginModel, RbfMargin
from model.rules import AT_LEAST_COLUMNS
from model.schema import (
    COUNTERFACTUAL_FEATURES_DEFAULT,
    FEATURE_NAMES,
    N_FEATURES,
)

# How far past the threshold a counterfactual lands, in log-odds: across it, by a margin far below
# anything shown, so that rounding cannot leave it on the threshold.
CROSSING = 1e-6
# RBF: candidates refined after the linearised ranking, and rounds of refinement.
RBF_CANDIDATES = 24
CHUNK = 8192  # candidates solved at once: bounded memory (tens of MB) whatever the number of features
RBF_ROUNDS = 12
BISECTIONS = 48  # pulling an RBF candidate back to the threshold
_WORST_OF = {mean: worst for mean, worst in AT_LEAST_COLUMNS}
_MEAN_OF = {worst: mean for mean, worst in AT_LEAST_COLUMNS}


class Change(NamedTuple):
    feature: str
    before: float
    after: float

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "from": self.before, "to": self.after}


class Counterfactual(NamedTuple):
    """The nearest change found, or `found` False with no changes."""

    found: bool
    changes: tuple[Change, ...]
    label: str | None
    probability_malignant: float | None
    distance: float | None  # standard deviations
    max_features: int

    def statement(self, current_label: str) -> str:
        """In words, about the model: never about a patient."""
        if not self.found:
            return (
                f"no change of at most {self.max_features} features within their training ranges makes the "
                f"model answer other than {current_label}"
            )
        parts = [f"{c.feature} were {c.after:,.4g} instead of {c.before:,.4g}" for c in self.changes]
        return f"the model would answer {self.label} if " + " and ".join(parts)

    def as_dict(self, current_label: str) -> dict[str, Any]:
        return {
            "found": self.found,
            "changes": [c.as_dict() for c in self.changes],
            "label": self.label,
            "probability_malignant": self.probability_malignant,
            "distance": self.distance,
            "max_features": self.max_features,
            "statement": self.statement(current_label),
        }


@cache
def subsets(max_features: int) -> IntArray:
    """Every subset of 1 to `max_features` features, as rows of indices padded with -1."""
    rows = [
        list(c) + [-1] * (max_features - size)
        for size in range(1, max_features + 1)
        for c in itertools.combinations(range(N_FEATURES), size)
    ]
    return np.array(rows, dtype=np.int64)


class Problem(NamedTuple):
    """Minimise sum A t^2 + B t subject to sum g t = r and L <= t <= U, per candidate row (n, k)."""

    a: FloatArray
    b: FloatArray
    g: FloatArray
    r: FloatArray  # (n,)
    low: FloatArray
    high: FloatArray


def solve(p: Problem) -> tuple[FloatArray, BoolArray]:
    """(t (n, k), feasible (n,)): the exact minimiser of each separable problem with one equality.

    t_j(lambda) = clip((lambda g_j - B_j) / 2A_j, L_j, U_j), and h(lambda) = sum g t(lambda) is
    piecewise linear and non-decreasing, with breakpoints where a variable meets a bound. h at every
    breakpoint finds lambda's segment; there the free variables are linear in lambda, which gives it.
    """
    two_a = 2.0 * p.a
    at_low, at_high = np.where(p.g > 0, p.low, p.high), np.where(p.g > 0, p.high, p.low)
    reach_low, reach_high = np.sum(p.g * at_low, axis=1), np.sum(p.g * at_high, axis=1)
    scale = np.maximum(np.abs(reach_low) + np.abs(reach_high), 1e-300)
    feasible = (p.r >= reach_low - 1e-12 * scale) & (p.r <= reach_high + 1e-12 * scale)
    g2, b2, a2 = np.tile(p.g, 2), np.tile(p.b, 2), np.tile(two_a, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        breaks = np.where(g2 != 0, (a2 * np.concatenate([p.low, p.high], axis=1) + b2) / g2, np.inf)
    breaks.sort(axis=1)  # (n, 2k), the finite ones first
    finite = np.isfinite(breaks)
    points = np.where(finite, breaks, 0.0)
    t_at = np.clip(
        (points[:, :, None] * p.g[:, None, :] - p.b[:, None, :]) / two_a[:, None, :],
        p.low[:, None, :],
        p.high[:, None, :],
    )
    h = np.sum(p.g[:, None, :] * t_at, axis=2)  # (n, 2k), non-decreasing over the finite points
    below = np.sum(finite & (h < p.r[:, None]), axis=1)  # breakpoints left of lambda
    count = np.sum(finite, axis=1)
    rows = np.arange(len(h))
    last = points[rows, np.maximum(count - 1, 0)]
    left = np.where(below > 0, points[rows, np.maximum(below - 1, 0)], points[rows, 0] - 1.0)
    right = np.where(below < count, points[rows, np.minimum(below, 2 * p.g.shape[1] - 1)], last + 1.0)
    middle = 0.5 * (left + right)
    raw = (middle[:, None] * p.g - p.b) / two_a
    free = (raw > p.low) & (raw < p.high) & (p.g != 0)
    fixed = np.where(free, 0.0, np.clip(raw, p.low, p.high))
    slope = np.sum(np.where(free, p.g * p.g / two_a, 0.0), axis=1)
    shift = np.sum(np.where(free, p.g * p.b / two_a, 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(slope > 0, (p.r - np.sum(p.g * fixed, axis=1) + shift) / slope, middle)
    t = np.where(free, np.clip((exact[:, None] * p.g - p.b) / two_a, p.low, p.high), fixed)
    return t, feasible


class Space(NamedTuple):
    """What the search needs of a predictor: the standardised box and the log-odds as a function of z."""

    mean: FloatArray
    scale: FloatArray
    low: FloatArray  # training minimum, raw
    high: FloatArray  # training maximum, raw
    slope: float
    offset: float
    margin: MarginModel


class Goal(NamedTuple):
    """The record (raw), the log-odds to reach, and whether they must rise to it."""

    x: FloatArray
    target: float
    up: bool


class _Candidates(NamedTuple):
    features: IntArray  # (n, k), -1 for unused slots
    tied: IntArray  # (n, k): the slot's *_worst tied equal to its *_mean in the same slot, else -1
    floor_of: IntArray  # (n, k): a *_worst changing without its *_mean: that mean's index, else -1
    ceiling_of: IntArray  # (n, k): a *_mean changing without its *_worst: that worst's index, else -1
    both: IntArray  # (n, 10): the pairs whose mean and worst both change freely (1), else 0

    def take(self, rows: IntArray) -> "_Candidates":
        return _Candidates(*(field[rows] for field in self))


@cache
def _candidates(max_features: int) -> _Candidates:
    """Every subset, plus one candidate per subset holding both of a pair with the pair tied equal."""
    base = subsets(max_features)
    features, tied = [base], [np.full_like(base, -1)]
    for mean, worst in AT_LEAST_COLUMNS:
        rows = base[np.any(base == mean, axis=1) & np.any(base == worst, axis=1)].copy()
        ties = np.full_like(rows, -1)
        ties[rows == mean] = worst
        rows[rows == worst] = -1  # the worst follows its mean
        features.append(rows)
        tied.append(ties)
    f, t = np.concatenate(features), np.concatenate(tied)
    moving = np.zeros((len(f), N_FEATURES + 1), dtype=bool)  # the last column takes the -1s
    moving[np.arange(len(f))[:, None], f] = True
    moving[np.arange(len(f))[:, None], t] = True
    floor_of, ceiling_of = np.full_like(f, -1), np.full_like(f, -1)
    both = np.zeros((len(f), len(AT_LEAST_COLUMNS)), dtype=np.int64)
    for p, (mean, worst) in enumerate(AT_LEAST_COLUMNS):
        floor_of[(f == worst) & ~moving[:, [mean]]] = mean
        ceiling_of[(f == mean) & ~moving[:, [worst]] & (t != worst)] = worst
        both[:, p] = np.any(f == mean, axis=1) & np.any(f == worst, axis=1)
    return _Candidates(f, t, floor_of, ceiling_of, both)


def _problem(
    space: Space, goal: Goal, g_full: FloatArray, current: FloatArray, cands: _Candidates
) -> tuple[Problem, FloatArray, FloatArray, BoolArray]:
    """The separable problem of each candidate, the tie terms (c0, c1) of tied slots, empty boxes.

    `g_full` is the log-odds' gradient in z, one (30,) for all candidates or one row per candidate;
    `current` the log-odds the plane has at the record, likewise.
    """
    x, f, n = goal.x, cands.features, len(cands.features)
    grad = np.broadcast_to(g_full, (n, N_FEATURES))
    used, tied = f >= 0, cands.tied >= 0
    idx, w = np.where(used, f, 0), np.where(tied, cands.tied, 0)
    z_low, z_high = (space.low - x) / space.scale, (space.high - x) / space.scale
    low, high = np.where(used, z_low[idx], 0.0), np.where(used, z_high[idx], 0.0)
    # One of a pair changing alone: the other's value bounds it.
    has_floor, has_ceiling = cands.floor_of >= 0, cands.ceiling_of >= 0
    low = np.where(has_floor, np.maximum(low, (x[cands.floor_of] - x[idx]) / space.scale[idx]), low)
    high = np.where(has_ceiling, np.minimum(high, (x[cands.ceiling_of] - x[idx]) / space.scale[idx]), high)
    g = np.where(used, np.take_along_axis(grad, idx, axis=1), 0.0)
    g_tied = np.where(tied, np.take_along_axis(grad, w, axis=1), 0.0)
    c1 = np.where(tied, space.scale[idx] / space.scale[w], 0.0)
    c0 = np.where(tied, (x[idx] - x[w]) / space.scale[w], 0.0)
    # delta_worst = c0 + c1 delta_mean: its square joins the objective, its term the constraint.
    a = 1.0 + c1 * c1
    b = 2.0 * c0 * c1
    r = goal.target - np.broadcast_to(current, (n,)) - np.sum(g_tied * c0, axis=1)
    g = g + g_tied * c1
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(tied, np.maximum(low, (z_low[w] - c0) / np.where(tied, c1, 1.0)), low)
        high = np.where(tied, np.minimum(high, (z_high[w] - c0) / np.where(tied, c1, 1.0)), high)
    # An empty box: a rule that cannot hold on this subset.
    empty = np.any(low > high, axis=1)
    return Problem(a, b, g, r, low, np.maximum(high, low)), c0, c1, empty


def _deltas(cands: _Candidates, t: FloatArray, c0: FloatArray, c1: FloatArray) -> FloatArray:
    """Full standardised changes (n, 30) from the slots' solutions (a row's features are distinct)."""
    delta = np.zeros((len(t), N_FEATURES))
    rows = np.broadcast_to(np.arange(len(t))[:, None], t.shape)
    used, tied = cands.features >= 0, cands.tied >= 0
    delta[rows[used], cands.features[used]] = t[used]
    delta[rows[tied], cands.tied[tied]] = (c0 + c1 * t)[tied]
    return delta


_MEANS, _WORSTS = (np.array(indices) for indices in zip(*AT_LEAST_COLUMNS, strict=True))


def _ordered(space: Space, x: FloatArray, delta: FloatArray, cands: _Candidates) -> BoolArray:
    """Whether each worst stays at least its mean where both change freely (elsewhere bounds ensure it)."""
    worst = x[_WORSTS] + delta[:, _WORSTS] * space.scale[_WORSTS]
    mean = x[_MEANS] + delta[:, _MEANS] * space.scale[_MEANS]
    return np.asarray(np.all((worst >= mean - 1e-9 * np.maximum(np.abs(mean), 1.0)) | (cands.both == 0), axis=1))


def _linear_best(
    space: Space, goal: Goal, g: FloatArray, current: FloatArray, cands: _Candidates
) -> tuple[FloatArray, FloatArray]:
    """(deltas (n, 30), distances (n,), inf where infeasible) of every candidate of an affine log-odds."""
    target = goal.target
    problem, c0, c1, empty = _problem(space, goal, g, current, cands)
    t, feasible = solve(problem)
    delta = _deltas(cands, t, c0, c1)
    grad = np.broadcast_to(g, delta.shape)
    gap = np.abs(np.sum(delta * grad, axis=1) - (target - np.broadcast_to(current, (len(delta),))))
    ok = feasible & (gap <= 1e-7 * max(1.0, abs(target))) & ~empty & _ordered(space, goal.x, delta, cands)
    distance = np.where(ok, np.sqrt(np.sum(delta * delta, axis=1)), np.inf)
    return delta, distance


def _all_candidates(
    space: Space, goal: Goal, g: FloatArray, current: FloatArray, cands: _Candidates
) -> tuple[FloatArray, FloatArray]:
    """(the nearest candidate's delta (30,), every candidate's distance (n,)) of one affine log-odds.

    In chunks, so that memory stays bounded for five features (about 180,000 candidates).
    """
    distances = np.empty(len(cands.features))
    best, best_distance = np.zeros(N_FEATURES), math.inf
    for start in range(0, len(distances), CHUNK):
        rows = np.arange(start, min(start + CHUNK, len(distances)))
        delta, distance = _linear_best(space, goal, g, current, cands.take(rows))
        distances[rows] = distance
        i = int(np.argmin(distance))
        if distance[i] < best_distance:
            best, best_distance = delta[i], float(distance[i])
    return best, distances


def _rbf_gradient(model: RbfMargin, z: FloatArray) -> FloatArray:
    """d f / d z at rows z (n, d)."""
    diff = z[:, None, :] - model.support_vectors[None, :, :]
    k = np.exp(-model.gamma * np.sum(diff * diff, axis=2))
    return np.asarray(-2.0 * model.gamma * np.einsum("ni,i,nid->nd", k, model.dual_coef, diff))


def _pull_back(
    log_odds: Callable[[FloatArray], FloatArray], z: FloatArray, delta: FloatArray, goal: Goal
) -> FloatArray:
    """Each change (whose end crosses) shortened along its segment to where the log-odds first cross."""
    low, high = np.zeros(len(delta)), np.ones(len(delta))
    for _ in range(BISECTIONS):
        middle = 0.5 * (low + high)
        value = log_odds(z[None, :] + middle[:, None] * delta)
        crossed = value >= goal.target if goal.up else value <= goal.target
        low, high = np.where(crossed, low, middle), np.where(crossed, middle, high)
    return np.asarray(high[:, None] * delta)


def search(
    space: Space, x: FloatArray, threshold: float, max_features: int = COUNTERFACTUAL_FEATURES_DEFAULT
) -> tuple[FloatArray | None, float]:
    """(the changed row, distance) nearest across the threshold, or (None, inf) when none exists.

    Distances are measured from the record with each value kept within Z_LIMIT standard deviations,
    as the predictor sees it; only the features changed differ from the record as given.
    """
    given, x = x, capped(x, space.mean, space.scale)
    cands = _candidates(max_features)
    z = (x - space.mean) / space.scale

    def log_odds(rows: FloatArray) -> FloatArray:
        return space.slope * space.margin.margin(np.atleast_2d(rows)) + space.offset

    current = float(log_odds(z)[0])
    boundary = math.log(threshold) - math.log1p(-threshold)
    up = current < boundary  # benign now: the log-odds must rise to the threshold
    goal = Goal(x, boundary + CROSSING if up else boundary - CROSSING, up)
    if isinstance(space.margin, LinearMargin):
        nearest, distances = _all_candidates(space, goal, space.slope * space.margin.coef, np.array(current), cands)
        delta, distance = nearest[None, :], np.array([distances.min()])
    else:
        delta, distance = _rbf_search(space, goal, log_odds, cands)
    if len(distance) == 0 or not np.isfinite(distance.min()):
        return None, math.inf
    best = int(np.argmin(distance))
    moved = np.abs(delta[best]) > 1e-12  # a solver's 1e-17 is no change
    changed = given.copy()
    changed[moved] = (x + delta[best] * space.scale)[moved]
    # A worst tied to its mean, or bounded by it, may land an ulp on the wrong side: the rule holds exactly,
    # by moving whichever of the two the change moved.
    for mean, worst in AT_LEAST_COLUMNS:
        if changed[worst] < changed[mean]:
            if moved[worst]:
                changed[worst] = changed[mean]
            else:
                changed[mean] = changed[worst]
    return changed, float(distance[best])


def _rbf_search(
    space: Space, goal: Goal, log_odds: Callable[[FloatArray], FloatArray], cands: _Candidates
) -> tuple[FloatArray, FloatArray]:
    """(deltas, distances) of the refined candidates that cross, each pulled back to the threshold."""
    assert isinstance(space.margin, RbfMargin)
    z = (goal.x - space.mean) / space.scale
    gradient = space.slope * _rbf_gradient(space.margin, z[None, :])[0]
    _, ranked = _all_candidates(space, goal, gradient, log_odds(z), cands)
    order = np.argsort(ranked)[:RBF_CANDIDATES]
    order = order[np.isfinite(ranked[order])]
    chosen = cands.take(order)
    delta = np.zeros((len(order), N_FEATURES))
    for _ in range(RBF_ROUNDS if len(order) else 0):
        # Linearise where each candidate stands; project the original record onto that plane again.
        at = z[None, :] + delta
        grads = space.slope * _rbf_gradient(space.margin, at)
        at_record = log_odds(at) - np.sum(grads * delta, axis=1)  # each plane's log-odds at z
        step, distance = _linear_best(space, goal, grads, at_record, chosen)
        delta = np.where(np.isfinite(distance)[:, None], step, delta)
    values = log_odds(z[None, :] + delta) if len(delta) else np.zeros(0)
    crossed = values >= goal.target - CROSSING if goal.up else values <= goal.target + CROSSING
    delta = _pull_back(log_odds, z, delta[crossed], goal)
    return delta, np.sqrt(np.sum(delta * delta, axis=1))


def changes_of(x: FloatArray, changed: FloatArray) -> tuple[Change, ...]:
    """The features a counterfactual changes, in schema order."""
    moved = np.flatnonzero(changed != x)  # search() copies every feature it does not change
    return tuple(Change(FEATURE_NAMES[j], float(x[j]), float(changed[j])) for j in moved)
