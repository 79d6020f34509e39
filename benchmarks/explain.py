"""Milliseconds per exact explanation for an artifact, beside shap's KernelExplainer on the same background.

    python -m benchmarks.explain --model artifacts/model [--rows 100] [--kernel-rows 3] [--nsamples 0 32768]

Runs on one core (BLAS threads pinned to 1) and prints a table; --json writes the figures too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from model.predictor import Predictor


def per_row_ms(predictor: Predictor, x: np.ndarray, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.explain(x)
        timings.append((time.perf_counter() - start) * 1e3 / len(x))
    return timings


def kernel_ms(predictor: Predictor, x: np.ndarray, nsamples: int | str) -> tuple[float, float]:
    """KernelExplainer's milliseconds per row and its largest error against the exact values."""
    import shap
    from shap.utils._legacy import DenseData

    a = predictor.artifact.arrays

    def log_odds_of_z(z: np.ndarray) -> np.ndarray:
        return predictor.log_odds(z * a["scaler_scale"] + a["scaler_mean"])

    names = [str(i) for i in range(x.shape[1])]
    kernel = shap.KernelExplainer(
        log_odds_of_z, DenseData(a["background"].copy(), names, None, a["background_weights"].copy())
    )
    start = time.perf_counter()
    approx = kernel.shap_values(predictor.standardise(x), nsamples=nsamples, l1_reg=False, silent=True)
    elapsed = (time.perf_counter() - start) * 1e3 / len(x)
    exact = np.array([list(e.contributions.values()) for e in predictor.explain(x)])
    return elapsed, float(np.max(np.abs(np.asarray(approx) - exact)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--kernel-rows", type=int, default=3)
    parser.add_argument(
        "--nsamples",
        type=int,
        nargs="+",
        default=[0, 32768],
        help="KernelExplainer coalitions per row, 0 for its default 'auto' (2 d + 2048)",
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from training.data import embedded

    predictor = Predictor.load(args.model)
    x = embedded().x
    predictor.explain(x[:5])  # warm caches
    one = per_row_ms(predictor, x[:1], repeats=200)
    many = per_row_ms(predictor, x[: args.rows], repeats=5)
    a = predictor.artifact.arrays
    figures: dict[str, float | int | str] = {
        "model_version": predictor.version,
        "kind": predictor.manifest.model.kind,
        "support_vectors": int(a["support_vectors"].shape[0]) if "support_vectors" in a else 0,
        "background_size": int(a["background"].shape[0]),
        "ours_ms_per_row_single": statistics.median(one),
        "ours_efficiency_max_residual": max(
            abs(e.base_value + sum(e.contributions.values()) - e.log_odds) for e in predictor.explain(x)
        ),
        f"ours_ms_per_row_batch_{args.rows}": statistics.median(many),
    }
    for n in args.nsamples:
        label = "auto" if n == 0 else str(n)
        ms, error = kernel_ms(predictor, x[: args.kernel_rows], n or "auto")
        figures[f"kernel_explainer_{label}_ms_per_row"] = ms
        figures[f"kernel_explainer_{label}_max_abs_error"] = error
        figures[f"speedup_vs_kernel_explainer_{label}"] = ms / statistics.median(one)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        sys.stdout.write(f"{key:<{width}}  {shown}\n")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
