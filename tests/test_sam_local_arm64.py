"""The ARCH=arm64 build of function and layers, run by `sam local start-lambda` in an arm64 container.

qemu-user (Debian's qemu-user-static, registered with binfmt_misc) executes the arm64 image on this
x86_64 machine; the answers must be the x86_64 ones: the same labels, probabilities within 1e-8.
Emulation makes the import take tens of seconds; that is not a figure of speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local import base_image, docker, sam
from local.events import EVENTS, expected_status
from tests.support import Answer, docker_or_skip

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.sam]
# The events whose answers carry predictions; the others are checked by status.
PREDICTING = ("predict-v1", "predict-v2", "predict-explain-v2", "predict-batch-v2", "v2-infer-v2")
TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def arm64_lambda(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Lambda client of `sam local start-lambda` serving the arm64 build."""
    docker_or_skip()
    assert docker.arm64_emulation(), "qemu-user for arm64 is not registered: install qemu-user-static"
    base_image.ensure("arm64")
    scratch = tmp_path_factory.mktemp("sam-arm64")
    template = sam.build(artifact_dir, scratch / "build", arch="arm64")
    with sam.serving(template, "start-lambda", scratch / "sam.log", arch="arm64") as url:
        yield sam.lambda_client(url, timeout=300)
    docker.prune_dangling_images()


def _probabilities(body: dict[str, Any]) -> list[float]:
    if "predictions" in body:
        return [p["probability_malignant"] for p in body["predictions"]]
    if "outputs" in body:
        [proba] = [o for o in body["outputs"] if o["name"] == "predict_proba"]
        return [float(v) for v in proba["data"][1::2]]
    return [body["probability_malignant"]]


def _labels(body: dict[str, Any]) -> list[Any]:
    if "predictions" in body:
        return [p["label"] for p in body["predictions"]]
    if "outputs" in body:
        [predict] = [o for o in body["outputs"] if o["name"] == "predict"]
        return list(predict["data"])
    return [body["label"]]


def test_the_arm64_build_answers_as_x86_64(arm64_lambda: Any, invoke: Callable[[dict[str, Any]], Answer]) -> None:
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        # WHEN the arm64 function in its emulated container and the x86_64 handler get the same event
        response = arm64_lambda.invoke(FunctionName=sam.FUNCTION, Payload=json.dumps(event).encode())
        arm = json.loads(response["Payload"].read())
        x86 = invoke(event)
        # THEN the statuses match the event's name, and predictions agree
        assert arm["statusCode"] == x86.status == expected_status(path.stem), (path.stem, arm)
        if path.stem in PREDICTING:
            body = json.loads(arm["body"])
            assert _labels(body) == _labels(x86.body), path.stem
            for a, b in zip(_probabilities(body), _probabilities(x86.body), strict=True):
                assert abs(a - b) <= TOLERANCE, (path.stem, a, b)
