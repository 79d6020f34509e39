"""Warm latency of the Lambda handler, in process, with real API Gateway events.

    python -m benchmarks.warm --model artifacts/model [--calls 2000] [--json FILE]

Prints p50 and p99 in milliseconds for one prediction, one with explanation, and a batch of 1000,
each through the full path: event -> Mangum -> FastAPI -> validation -> Predictor -> JSON; and the
same one row and 1000 rows through the Open Inference Protocol (V2) route, with the ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from local.events import LocalContext, event
from model import artifact
from model.schema import FEATURE_NAMES


def load_handler(model: Path) -> Any:
    """handler.lambda_function.handler, initialised on `model` with request logging off."""
    os.environ["MODEL_DIR"] = str(model)
    os.environ["LOG_LEVEL"] = "WARNING"
    logging.disable(logging.INFO)
    from handler.lambda_function import handler

    return handler


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "calls": len(ordered),
    }


def measure(handler: Any, event: dict[str, Any], calls: int) -> dict[str, float]:
    sink = io.StringIO()
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        with redirect_stdout(sink):  # Powertools' EMF lines go to stdout; keep them off the terminal
            answer = handler(event, LocalContext())
        timings.append((time.perf_counter() - started) * 1e3)
        if answer["statusCode"] != 200:
            raise RuntimeError(f"benchmark request failed: {answer['body'][:300]}")
        sink.seek(0)
        sink.truncate()
    return percentiles(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    handler = load_handler(args.model)

    manifest = artifact.load(args.model).manifest
    row = dict(manifest.examples["malignant"].features)
    tensor = [row[name] for name in FEATURE_NAMES]

    def infer(rows: int) -> dict[str, Any]:
        body = {
            "inputs": [{"name": "input-0", "shape": [rows, len(tensor)], "datatype": "FP64", "data": tensor * rows}]
        }
        return event("v2", "POST", "/v2/models/wdbc/infer", body)

    cases = {
        "predict": (event("v2", "POST", "/predict", {"features": row}), args.calls),
        "v2_infer_1": (infer(1), args.calls),
        "predict_explain": (event("v2", "POST", "/predict", {"features": row, "explain": True}), args.calls),
        "batch_1000": (event("v2", "POST", "/predict/batch", {"instances": [row] * 1000}), max(20, args.calls // 50)),
        "v2_infer_1000": (infer(1000), max(20, args.calls // 50)),
    }
    figures: dict[str, Any] = {"model_version": manifest.model_version, "kind": manifest.model.kind}
    for name, (e, calls) in cases.items():
        measure(handler, e, 5)  # warm-up
        figures[name] = measure(handler, e, calls)
    sys.stdout.write(f"{'case':<18}{'p50 ms':>10}{'p99 ms':>10}{'calls':>8}\n")
    for name in cases:
        f = figures[name]
        sys.stdout.write(f"{name:<18}{f['p50_ms']:>10.3f}{f['p99_ms']:>10.3f}{f['calls']:>8}\n")
    figures["v2_over_predict_p50"] = figures["v2_infer_1"]["p50_ms"] / figures["predict"]["p50_ms"]
    figures["v2_over_batch_p50"] = figures["v2_infer_1000"]["p50_ms"] / figures["batch_1000"]["p50_ms"]
    sys.stdout.write(
        f"V2 infer / predict, p50: one row {figures['v2_over_predict_p50']:.2f}, "
        f"1000 rows {figures['v2_over_batch_p50']:.2f}\n"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
