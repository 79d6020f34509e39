"""The drift drill: genuine rows through the handler, then the same rows with one feature in the wrong unit.

    python -m benchmarks.drift --model artifacts/model [--rows 500] [--feature area_mean] [--factor 0.1] [--json FILE]

Every request is one record, as a page user sends it; the function writes one aggregated line per
window (DRIFT_WINDOW, default 50). Prints, per window, the largest PSI and its feature, the slipped
feature's PSI and the out-of-distribution rate, and whether the alarm threshold was crossed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from local.events import LocalContext, event
from model.schema import FEATURE_NAMES, INDEX
from training import data

ALARM_PSI = 1.0  # the template's AlarmFeaturePsi default


def windows(handler: Any, rows: np.ndarray) -> list[dict[str, Any]]:
    """Send each row as one /predict request; return the aggregated lines the function wrote."""
    found = []
    for row in rows:
        sink = io.StringIO()
        with redirect_stdout(sink):
            answer = handler(
                event("v2", "POST", "/predict", {"features": dict(zip(FEATURE_NAMES, row.tolist(), strict=True))}),
                LocalContext(),
            )
        if answer["statusCode"] != 200:
            raise RuntimeError(f"drill request failed: {answer['body'][:300]}")
        found += [json.loads(line) for line in sink.getvalue().splitlines() if '"largest_psi"' in line]
    return found


def drill(model: Path, n_rows: int, feature: str, factor: float, seed: int = 0) -> dict[str, Any]:
    os.environ.update(MODEL_DIR=str(model), LOG_LEVEL="WARNING")
    from handler.lambda_function import handler

    x = data.embedded().x
    rows = x[np.random.default_rng(seed).choice(len(x), size=n_rows, replace=len(x) < n_rows)]
    slipped = rows.copy()
    slipped[:, INDEX[feature]] *= factor
    result: dict[str, Any] = {"feature": feature, "factor": factor, "alarm_psi": ALARM_PSI}
    for name, batch in (("genuine", rows), ("slipped", slipped)):
        result[name] = [
            {
                "largest_psi": w["largest_psi"],
                "largest_psi_feature": w["largest_psi_feature"],
                "feature_psi": w[f"psi_{feature}"],
                "largest_other_psi": max(v for k, v in w.items() if k.startswith("psi_") and k != f"psi_{feature}"),
                "out_of_distribution_percent": w["OutOfDistributionRate"][0],
                "predictions": w["window_predictions"],
            }
            for w in windows(handler, batch)
        ]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--feature", choices=FEATURE_NAMES, default="area_mean")
    parser.add_argument("--factor", type=float, default=0.1, help="the slip: 0.1 is a tenth, 10 ten times")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = drill(args.model, args.rows, args.feature, args.factor)
    sys.stdout.write(
        f"{'rows':<9}{'window':>7}{'largest PSI':>13}  {'of':<24}{args.feature + ' PSI':>20}{'OOD %':>8}\n"
    )
    for name in ("genuine", "slipped"):
        for i, w in enumerate(result[name]):
            cells = f"{w['largest_psi']:>13.3f}  {w['largest_psi_feature']:<24}{w['feature_psi']:>20.3f}"
            sys.stdout.write(f"{name:<9}{i:>7}{cells}{w['out_of_distribution_percent']:>8.1f}\n")
    crossed = all(w["feature_psi"] > ALARM_PSI for w in result["slipped"])
    quiet = all(w["largest_psi"] <= ALARM_PSI for w in result["genuine"])
    quiet_others = all(w["largest_other_psi"] <= ALARM_PSI for w in result["slipped"])
    sys.stdout.write(
        f"alarm at PSI {ALARM_PSI}: genuine windows quiet {quiet}; slipped feature crosses in every window {crossed}; "
        f"other features stay below {quiet_others}\n"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if crossed and quiet and quiet_others else 1


if __name__ == "__main__":
    sys.exit(main())
