"""Soak the handler in process: many invocations mixing valid, invalid and explained requests.

    python -m benchmarks.soak --model DIR [--calls 100000] [--json FILE]

Reports peak RSS at the 10,000th and the last call (their difference is the drift), and every
status seen; any answer other than 200 for a valid request or the expected 4xx for a bad one is
counted as unexpected.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from benchmarks.warm import load_handler
from local.events import LocalContext, event
from model import artifact

CHECKPOINT = 10_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    handler = load_handler(args.model)

    examples = artifact.load(args.model).manifest.examples
    benign, malignant = (dict(examples[k].features) for k in ("benign", "malignant"))
    # (event, expected status); explained and batch requests are the heavy ones.
    mix: list[tuple[dict[str, Any], int]] = [
        (event("v2", "POST", "/predict", {"features": benign}), 200),
        (event("v1", "POST", "/predict", {"features": malignant}), 200),
        (event("v2", "POST", "/predict", {"features": malignant, "explain": True}), 200),
        (event("v2", "POST", "/predict/batch", {"instances": [benign, malignant] * 5}), 200),
        (event("v2", "POST", "/predict", {"features": {**benign, "radius_mean": -1}}), 422),
        (event("v2", "POST", "/predict", {"features": {**benign, "radius_worst": 0.1}}), 422),
        (event("v2", "POST", "/predict", raw_body=b'{"features": {'), 400),
        (event("v2", "POST", "/predict", {"features": benign}, content_type="text/plain"), 415),
        (event("v2", "GET", "/health", content_type=None), 200),
        (event("v2", "GET", "/nowhere", content_type=None), 404),
    ]
    statuses: Counter[int] = Counter()
    unexpected = 0
    rss_at_checkpoint = 0.0
    sink = io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(sink):
        for i in range(1, args.calls + 1):
            request, expected = mix[i % len(mix)]
            status = handler(request, LocalContext())["statusCode"]
            statuses[status] += 1
            unexpected += status != expected
            if i % 1000 == 0:
                sink.seek(0)
                sink.truncate()
            if i == CHECKPOINT:
                rss_at_checkpoint = peak_rss_mb()
    result = {
        "calls": args.calls,
        "seconds": time.perf_counter() - started,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unexpected": unexpected,
        "peak_rss_mb_at_10000": rss_at_checkpoint,
        "peak_rss_mb_at_end": peak_rss_mb(),
        "drift_mb": peak_rss_mb() - rss_at_checkpoint,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
