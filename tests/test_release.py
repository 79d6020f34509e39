"""Releases: the pre-traffic hook against good and broken models, in process and under the emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from infra import pretraffic
from local.emulator import running
from local.events import LocalContext
from model import artifact
from model import manifest as manifest_io
from model.manifest import Release


def _document(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    return document


def _release(directory: Path) -> Release:
    return manifest_io.release(_document(directory))


def _broken(artifact_dir: Path, target: Path) -> Path:
    """A model that loads and serves, but whose intercept moved: it no longer reproduces its golden examples."""
    shutil.copytree(artifact_dir, target)
    with np.load(target / "model.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["intercept"] = arrays["intercept"] + 3.0
    artifact.write_document(target, _document(target), arrays)
    return target


class Reports:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, deployment: str, execution: str, status: str) -> None:
        self.calls.append((deployment, execution, status))


HOOK_EVENT = {"DeploymentId": "d-EXAMPLE", "LifecycleEventHookExecutionId": "exec-1"}


def test_hook_passes_the_version_that_serves_the_model(lambda_module: ModuleType, artifact_dir: Path) -> None:
    # GIVEN the function serving the artifact, and the artifact's manifest as the model layer holds it
    reports = Reports()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = lambda_module.handler(event, LocalContext())
        return answer

    # WHEN the hook checks it THEN nothing is wrong, and CodeDeploy is told Succeeded
    assert pretraffic.check(invoke, _release(artifact_dir)) == []
    assert pretraffic.run(HOOK_EVENT, invoke, reports, artifact_dir / "manifest.json") == "Succeeded"
    assert reports.calls == [("d-EXAMPLE", "exec-1", "Succeeded")]


def test_hook_fails_a_version_that_answers_differently(lambda_module: ModuleType, artifact_dir: Path) -> None:
    # GIVEN a version whose probabilities are off by 1e-6 (a changed kernel, a bad build)
    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = lambda_module.handler(event, LocalContext())
        body = json.loads(answer["body"])
        body["probability_malignant"] += 1e-6
        return {**answer, "body": json.dumps(body)}

    problems = pretraffic.check(invoke, _release(artifact_dir))
    assert problems and all("probability differs from the stored one" in p for p in problems)
    # AND a check that cannot run at all fails the release too
    reports = Reports()

    def unreachable(event: dict[str, Any]) -> dict[str, Any]:
        raise TimeoutError("no answer")

    assert pretraffic.run(HOOK_EVENT, unreachable, reports, artifact_dir / "manifest.json") == "Failed"
    assert reports.calls[-1][2] == "Failed"


@pytest.mark.integration
@pytest.mark.sam
def test_canary_of_a_broken_model_is_stopped_before_traffic(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN the good model and a deliberately broken one, each served by the real handler under the emulator
    broken = _broken(artifact_dir, tmp_path / "broken")
    outcomes = {}
    for name, model in (("good", artifact_dir), ("broken", broken)):
        reports = Reports()
        with running(model_dir=model, log_path=tmp_path / f"{name}.log") as emulator:

            def invoke(event: dict[str, Any], emulator: Any = emulator) -> dict[str, Any]:
                payload: dict[str, Any] = emulator.invoke(event).payload
                return payload

            # WHEN CodeDeploy runs the pre-traffic hook against each
            outcomes[name] = (
                pretraffic.run(HOOK_EVENT, invoke, reports, model / "manifest.json"),
                pretraffic.check(invoke, _release(model)),
            )
    # THEN the good release may take traffic, and the broken one is failed before any traffic reaches it
    assert outcomes["good"] == ("Succeeded", [])
    status, problems = outcomes["broken"]
    assert status == "Failed"
    assert any("label" in p or "probability differs" in p for p in problems), problems
