"""What the logs keep: a success writes nothing of its own at the defaults; nothing an operator needs is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.paths import ROOT
from local.events import event

SCRIPT = """
import json, sys
from handler.lambda_function import handler
from local.events import LocalContext
if sys.argv[1] == "break":
    from model.predictor import Predictor
    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug")
    Predictor.predict = broken
for i, line in enumerate(sys.stdin):
    sys.stdout.write(f"=== request {i}\\n"); sys.stdout.flush()
    out = handler(json.loads(line), LocalContext())
    sys.stdout.write(f"=== status {out['statusCode']}\\n"); sys.stdout.flush()
"""


def _run(artifact_dir: Path, events: list[dict[str, Any]], level: str = "INFO", mode: str = "ok") -> list[str]:
    """What the process wrote for each request (stdout and stderr), in order."""
    env = {"PATH": "/usr/bin:/bin", "MODEL_DIR": str(artifact_dir), "LOG_LEVEL": level, "DRIFT_WINDOW": "50"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        input="\n".join(json.dumps(e) for e in events) + "\n",
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    if mode == "ok":
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return (result.stdout + result.stderr).split("=== request ")[1:]


def _predict(features: dict[str, float], request_id: str) -> dict[str, Any]:
    e = event("v2", "POST", "/predict", {"features": features})
    e["requestContext"]["requestId"] = request_id
    return e


def _own_lines(chunk: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in chunk.splitlines() if line.startswith("{")]


def test_at_the_defaults_success_writes_nothing_and_rejections_errors_keep_their_line(
    artifact_dir: Path, examples: dict[str, dict[str, float]]
) -> None:
    # GIVEN a warm function, then a good request, a rejected one and one that meets a bug
    good, bad = examples["benign"], {**examples["benign"], "radius_mean": -1.0}
    chunks = _run(artifact_dir, [_predict(good, "warm"), _predict(good, "ok-1"), _predict(bad, "bad-1")])
    # THEN the successful request wrote no line of its own, and the rejected one a line with its request id
    assert _own_lines(chunks[1]) == []
    rejected = [r for r in _own_lines(chunks[2]) if r.get("message") == "request rejected"]
    assert rejected and rejected[0]["correlation_id"] == "bad-1" and rejected[0]["rules"] == ["non_negative"]
    # AND an error inside the app leaves a line with the request id (an init failure leaves its CRITICAL line:
    # tests/test_hostile.py)
    [broken] = _run(artifact_dir, [_predict(good, "err-1")], mode="break")
    errors = [r for r in _own_lines(broken) if r.get("level") == "ERROR"]
    assert errors and errors[0]["correlation_id"] == "err-1" and "RuntimeError" in json.dumps(errors[0])


def test_the_aggregated_metrics_count_every_prediction(
    artifact_dir: Path, examples: dict[str, dict[str, float]]
) -> None:
    # GIVEN 100 predictions, in single records and in batches of 10
    batch = event("v2", "POST", "/predict/batch", {"instances": [examples["malignant"]] * 10})
    events = [_predict(examples["benign"], f"r{i}") for i in range(50)] + [batch] * 5
    chunks = _run(artifact_dir, events)
    windows = [r for chunk in chunks for r in _own_lines(chunk) if "window_predictions" in r]
    # THEN the windows written account for every one of them, by label
    assert sum(w["window_predictions"] for w in windows) == 100
    assert sum(w["count_benign"] for w in windows) == 50 and sum(w["count_malignant"] for w in windows) == 50


def test_at_debug_the_per_request_line_comes_back(artifact_dir: Path, examples: dict[str, dict[str, float]]) -> None:
    chunks = _run(artifact_dir, [_predict(examples["benign"], "d-1")], level="DEBUG")
    served = [r for r in _own_lines(chunks[0]) if r.get("message") == "predictions served"]
    assert served and served[0]["correlation_id"] == "d-1" and served[0]["count"] == 1
