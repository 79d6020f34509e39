"""Counterfactuals and similar cases over every training row, at the balanced operating point.

    python -m benchmarks.cases --model artifacts/model [--rbf-model DIR] [--work DIR] [--json FILE]

For each model: the share of rows with a counterfactual found (at most 3 features), the mean number of
features changed, its distance beside an independent baseline, and milliseconds per record (one core).
The baseline is exhaustive: for a linear model, scipy's SLSQP on every subset of at most 3 features
that could beat the answer (the others are ruled out by relaxations); for an RBF SVM, a 21 x 21 grid
over every pair of features, on every 10th row, against the search at most 2 features. Without
--rbf-model, the quick profile's RBF SVM is trained into WORK.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from model import counterfactual as cf
from model.margin import LinearMargin
from model.predictor import CaseOptions, Predictor
from model.schema import N_FEATURES, WORST_OF_MEAN
from training import cli as training_cli
from training import data

LABELS = ("benign", "malignant")


def _coef(p: Predictor) -> np.ndarray:
    """The log-odds' gradient in standardised space of a linear model."""
    assert isinstance(p.margin_model, LinearMargin)
    return np.asarray(p.space.slope * p.margin_model.coef)


def _slsqp(p: Predictor, x: np.ndarray, subset: tuple[int, ...], gap: float) -> float:
    from scipy.optimize import minimize

    coef, scale, cols = _coef(p), p.space.scale, list(subset)

    def full(d: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[cols] = x[cols] + d * scale[cols]
        return out

    constraints: list[dict[str, Any]] = [{"type": "eq", "fun": lambda d: coef[cols] @ d - gap}]
    constraints += [
        {"type": "ineq", "fun": lambda d, m=m, w=w: full(d)[w] - full(d)[m]}
        for m, w in WORST_OF_MEAN
        if m in subset or w in subset
    ]
    bounds = [((p.training_min[j] - x[j]) / scale[j], (p.training_max[j] - x[j]) / scale[j]) for j in cols]
    found = minimize(
        lambda d: d @ d,
        np.zeros(len(cols)),
        jac=lambda d: 2 * d,
        bounds=bounds,
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    feasible = found.success and abs(constraints[0]["fun"](found.x)) < 1e-7
    feasible = feasible and all(c["fun"](found.x) >= -1e-9 for c in constraints[1:])
    return math.sqrt(float(found.x @ found.x)) if feasible else math.inf


def linear_baseline(p: Predictor, x: np.ndarray, ours: float, max_features: int) -> float:
    threshold = p.operating_points["balanced"]
    now = float(p.log_odds(x[None])[0])
    boundary = math.log(threshold / (1 - threshold))
    gap = (boundary + cf.CROSSING if now < boundary else boundary - cf.CROSSING) - now
    coef = _coef(p)
    low, high = (p.training_min - x) / p.space.scale * coef, (p.training_max - x) / p.space.scale * coef
    reach = np.maximum(low, high) if gap > 0 else -np.minimum(low, high)
    best = math.inf
    for size in range(1, max_features + 1):
        for subset in itertools.combinations(range(N_FEATURES), size):
            cols = list(subset)
            floor = abs(gap) / max(float(np.linalg.norm(coef[cols])), 1e-300)
            if floor < min(best, ours) + 1e-9 and reach[cols].sum() >= abs(gap) - 1e-12:
                best = min(best, _slsqp(p, x, subset, gap))
    return best


def rbf_baseline(p: Predictor, x: np.ndarray, steps: int = 21) -> float:
    threshold = p.operating_points["balanced"]
    now = bool(p.probability(x[None])[0] >= threshold)
    grids = [np.linspace(p.training_min[j], p.training_max[j], steps) for j in range(N_FEATURES)]
    best = math.inf
    for a, b in itertools.combinations(range(N_FEATURES), 2):
        va, vb = np.meshgrid(grids[a], grids[b], indexing="ij")
        rows = np.repeat(x[None], va.size, axis=0)
        rows[:, a], rows[:, b] = va.ravel(), vb.ravel()
        ordered = np.all(rows[:, [w for _, w in WORST_OF_MEAN]] >= rows[:, [m for m, _ in WORST_OF_MEAN]], axis=1)
        hit = ordered & ((p.probability(rows) >= threshold) != now)
        if hit.any():
            z = (rows[hit] - x) / p.space.scale
            best = min(best, float(np.sqrt((z * z).sum(axis=1)).min()))
    return best


def measure(p: Predictor, x: np.ndarray, max_features: int, baseline_every: int) -> dict[str, Any]:
    found, changed, distances, baselines, times = 0, [], [], [], []
    for i, row in enumerate(x):
        label = LABELS[int(p.predict(row[None]).malignant[0])]
        start = time.perf_counter()
        result = p.counterfactual(row, label, "balanced", max_features)
        times.append((time.perf_counter() - start) * 1e3)
        if result.found and result.distance is not None:
            found += 1
            changed.append(len(result.changes))
        if baseline_every and i % baseline_every == 0:
            ours = result.distance if result.found and result.distance is not None else math.inf
            base = (
                linear_baseline(p, row, ours, max_features)
                if p.manifest.model.kind == "linear"
                else rbf_baseline(p, row)
            )
            if math.isfinite(ours) and math.isfinite(base):
                distances.append(ours)
                baselines.append(base)
    start = time.perf_counter()
    p.with_cases(p.predict(x), CaseOptions(similar=10))
    similar_ms = (time.perf_counter() - start) * 1e3 / len(x)
    return {
        "kind": p.manifest.model.kind,
        "model_version": p.version,
        "rows": len(x),
        "max_features": max_features,
        "found_share": found / len(x),
        "mean_features_changed": statistics.fmean(changed) if changed else None,
        "baseline_rows": len(distances),
        "mean_distance": statistics.fmean(distances) if distances else None,
        "mean_baseline_distance": statistics.fmean(baselines) if baselines else None,
        "worst_ratio_to_baseline": max(d / b for d, b in zip(distances, baselines, strict=True)) if distances else None,
        "ms_per_record_median": statistics.median(times),
        "ms_per_record_p95": float(np.percentile(times, 95)),
        "similar_cases_ms_per_record": similar_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--rbf-model", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("build/bench"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rbf_dir = args.rbf_model
    if rbf_dir is None:
        rbf_dir = args.work / "cases-rbf"
        if not (rbf_dir / "manifest.json").exists():
            command = ["--profile", "quick", "--family", "svm_rbf", "--seed", "0", "--jobs", "1", "--out", str(rbf_dir)]
            training_cli.main(command)
    x = data.embedded().x
    results = []
    for directory in (args.model, rbf_dir):
        p = Predictor.load(directory)
        linear = p.manifest.model.kind == "linear"
        results.append(measure(p, x, 3 if linear else 2, 1 if linear else 10))
        if not linear:
            results.append(measure(p, x, 3, 0))
    for r in results:
        sys.stdout.write(
            f"{r['kind']:>6} max {r['max_features']} features: found for {100 * r['found_share']:.1f}% of "
            f"{r['rows']} rows, {r['mean_features_changed'] or 0:.2f} features changed on average; mean distance "
            f"{r['mean_distance'] or float('nan'):.4f} against the baseline's "
            f"{r['mean_baseline_distance'] or float('nan'):.4f} ({r['baseline_rows']} rows); "
            f"{r['ms_per_record_median']:.2f} ms per record (p95 {r['ms_per_record_p95']:.2f}); similar cases "
            f"{r['similar_cases_ms_per_record']:.3f} ms\n"
        )
    if args.json:
        args.json.write_text(json.dumps({"models": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
