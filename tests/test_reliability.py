"""Reliability drills: a long soak, a handler timeout, a broken model fixed in place, concurrent load."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from infra.paths import ROOT
from local.emulator import running
from local.events import event
from model import artifact

pytestmark = [pytest.mark.integration, pytest.mark.sam, pytest.mark.slow]


def test_soak_100000_invocations_without_drift(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN 100,000 in-process invocations mixing valid, explained, batch and bad requests
    out = tmp_path / "soak.json"
    command = [sys.executable, "-m", "benchmarks.soak", "--model", str(artifact_dir), "--calls", "100000"]
    subprocess.run([*command, "--json", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=1200)
    result = json.loads(out.read_text())
    # THEN every answer is the expected one, and peak RSS grows at most 5 MB after the 10,000th call
    assert result["unexpected"] == 0, result["statuses"]
    assert sum(result["statuses"].values()) == 100_000
    assert "500" not in result["statuses"]
    assert result["drift_mb"] <= 5.0, result


def _heavier(artifact_dir: Path, target: Path, factor: int) -> Path:
    """The same model with an explanation background `factor` times larger: each explanation costs that much more."""
    shutil.copytree(artifact_dir, target)
    manifest = json.loads((target / "manifest.json").read_text())
    with np.load(target / "model.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    jitter = np.random.default_rng(0).normal(scale=0.01, size=(factor, *arrays["background"].shape))
    arrays["background"] = (arrays["background"][None] + jitter).reshape(-1, arrays["background"].shape[1])
    arrays["background_weights"] = np.tile(arrays["background_weights"], factor) / factor
    artifact.write_document(target, manifest, arrays)
    return target


def test_emulator_recovers_after_a_handler_timeout(
    artifact_dir: Path, tmp_path: Path, examples: dict[str, dict[str, float]]
) -> None:
    # About 9 s of explanations (1600 records, a background twelve times larger) against a 3 s timeout: a
    # margin of three, as the predictor gets faster (with four times, it once took 2.99 s); the emulator
    # re-initialises inside the next invoke, so that one needs room for init (about 1 s) as well.
    heavy = _heavier(artifact_dir, tmp_path / "heavy", 12)
    slow = event("v2", "POST", "/predict/batch", {"instances": [examples["malignant"]] * 1600, "explain": True})
    good = event("v2", "POST", "/predict", {"features": examples["benign"]})
    limits = {"AWS_LAMBDA_FUNCTION_TIMEOUT": "3", "MAX_BATCH_SIZE": "1600"}
    with running(model_dir=heavy, env=limits, log_path=tmp_path / "rie.log") as emu:
        # WHEN a request runs past the timeout THEN the emulator reports it
        timed_out = emu.invoke(slow)
        assert "Task timed out" in json.dumps(timed_out.payload), (timed_out.status, timed_out.payload)
        # AND the next request is answered correctly by a fresh runtime
        answer = emu.invoke(good)
        log = emu.log()
    assert answer.status == 200 and json.loads(answer.payload["body"])["label"] == "benign"
    assert log.count("INIT START") >= 2


def test_corrupt_model_fails_loudly_and_a_fixed_one_recovers(
    artifact_dir: Path, tmp_path: Path, examples: dict[str, dict[str, float]]
) -> None:
    model = Path(shutil.copytree(artifact_dir, tmp_path / "model"))
    original = (model / "model.npz").read_bytes()
    (model / "model.npz").write_bytes(original[:-64] + bytes(64))
    request = event("v2", "POST", "/predict", {"features": examples["malignant"]})
    with running(model_dir=model, log_path=tmp_path / "rie.log") as emu:
        # GIVEN a damaged model WHEN the function starts THEN init fails with the checksum named
        broken = emu.invoke(request)
        assert broken.status == 502
        assert "has sha256" in emu.log() and "model failed to load" in emu.log()
        # WHEN the file is restored THEN the next invocation initialises and answers
        (model / "model.npz").write_bytes(original)
        fixed = emu.invoke(request)
    assert fixed.status == 200 and json.loads(fixed.payload["body"])["label"] == "malignant"


def test_concurrent_requests_against_uvicorn_workers(
    serve: Callable[..., str], artifact_dir: Path, examples: dict[str, dict[str, float]]
) -> None:
    # GIVEN the app under uvicorn with two worker processes on loopback
    base = serve(artifact_dir, "--workers", "2")
    bodies = [
        {"features": examples["malignant"]},
        {"features": examples["benign"], "explain": True},
        {"instances": [examples["benign"], examples["malignant"]] * 10},
    ]

    def call(i: int) -> int:
        path = "/predict/batch" if "instances" in bodies[i % 3] else "/predict"
        with httpx.Client(timeout=30) as client:
            return client.post(base + path, json=bodies[i % 3]).status_code

    # WHEN 16 clients send 2,000 requests in all, bounded in count and time
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(call, range(2000)))
    # THEN none fails
    assert statuses.count(200) == 2000, {s: statuses.count(s) for s in set(statuses)}
    assert time.monotonic() - started < 300
