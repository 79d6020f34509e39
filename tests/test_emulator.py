"""The real handler under the Lambda Runtime Interface Emulator with awslambdaric, as Lambda runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.emulator import running
from local.events import event

pytestmark = [pytest.mark.integration, pytest.mark.sam]


def test_cold_warm_bad_event_then_good_again(
    artifact_dir: Path, examples: dict[str, dict[str, float]], tmp_path: Path
) -> None:
    good = event("v2", "POST", "/predict", {"features": examples["malignant"], "explain": True})
    with running(model_dir=artifact_dir, log_path=tmp_path / "rie.log") as emulator:
        # GIVEN a cold function WHEN the first request arrives THEN it answers correctly
        cold = emulator.invoke(good)
        assert cold.payload["statusCode"] == 200, cold.payload
        assert json.loads(cold.payload["body"])["label"] == "malignant"
        assert emulator.init_duration_ms() is not None
        # AND warm calls answer the same
        for _ in range(3):
            warm = emulator.invoke(event("v1", "POST", "/predict", {"features": examples["benign"]}))
            assert json.loads(warm.payload["body"])["label"] == "benign"
        # WHEN an event that is not from API Gateway arrives THEN a clear 400, and the next call still works
        bad = emulator.invoke({"Records": [{"eventSource": "aws:s3"}]})
        assert bad.payload["statusCode"] == 400
        assert "API Gateway" in json.loads(bad.payload["body"])["error"]["detail"]
        again = emulator.invoke(good)
        assert again.payload["statusCode"] == 200
        assert json.loads(again.payload["body"]) == json.loads(cold.payload["body"])
        log = emulator.log()
    assert log.count("INIT START") == 1, "the function was initialised more than once"
    # The cold start is counted once (successful requests write no line of their own); the warm bad event's
    # warning says it was warm.
    assert log.count('"ColdStart":[1.0]') == 1
    assert '"cold_start":false' in log


def test_missing_model_fails_init_with_one_clear_line(tmp_path: Path, examples: dict[str, dict[str, float]]) -> None:
    with running(model_dir=tmp_path / "absent", log_path=tmp_path / "rie.log") as emulator:
        answer = emulator.invoke(event("v2", "GET", "/health", content_type=None))
        log = emulator.log()
    assert answer.status == 502
    lines = [line for line in log.splitlines() if "model failed to load" in line]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "CRITICAL" and "manifest.json does not exist" in record["reason"]
