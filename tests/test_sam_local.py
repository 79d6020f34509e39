"""The built stack under the SAM CLI's own local commands, in Docker: invoke, start-api, start-lambda.

`make test` runs under `python -m local.docker`, which starts a Docker daemon when none runs; there
these tests fail rather than skip without one. The base image is the real python3.13 image where it
can be pulled, the project's stand-in (`local/base_image.py`) where it cannot.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from infra import pretraffic
from infra.paths import ROOT
from local import base_image, docker, sam
from local.events import EVENTS, expected_status
from local.ports import free_port
from model.demo_image import demo
from model.schema import FEATURE_NAMES
from tests.support import docker_or_skip, schemathesis_run

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.sam]
EVENT_FILES = sorted(EVENTS.glob("*.json"))


@pytest.fixture(scope="module")
def built(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The stack built with the session's model, and the base image present; the built template."""
    docker_or_skip()
    base_image.ensure("x86_64")
    yield sam.build(artifact_dir, tmp_path_factory.mktemp("sam-local") / "build")
    docker.prune_dangling_images()


@pytest.fixture(scope="module")
def api(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sam.serving(built, "start-api", tmp_path_factory.mktemp("start-api") / "sam.log") as url:
        yield url


def _request(url: str, method: str = "GET", body: Any = None) -> tuple[int, dict[str, str], bytes]:
    return _request_bytes(url, None if body is None else json.dumps(body).encode(), method)


def _request_bytes(url: str, data: bytes | None, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.stem for p in EVENT_FILES])
def test_sam_local_invoke_answers_every_event(built: Path, path: Path) -> None:
    # WHEN `sam local invoke` runs the built function in its container with a sample event
    invoked = sam.invoke(built, path)
    # THEN it answers with the status the event's name promises, from our app, and nothing failed
    assert invoked.payload["statusCode"] == expected_status(path.stem), invoked.log[-3000:]
    assert invoked.payload["headers"]["x-content-type-options"] == "nosniff"
    # (after its REPORT line SAM stops the container, and the runtime client's wait for a next event fails)
    function_log = invoked.log.split("REPORT RequestId")[0]
    assert "Traceback" not in function_log and "sklearn" not in function_log


def _routes(template: Path) -> list[tuple[str, str]]:
    """(method, path) of every route the SAM CLI mounts for `sam local start-api`."""
    found: list[tuple[str, str]] = []
    for path, methods, function in sam.routes(template):
        assert function == sam.FUNCTION, (path, function)
        found += [(method, path) for method in methods if method != "OPTIONS"]
    return sorted(found)


def _request_for(method: str, path: str, examples: dict[str, dict[str, float]], version: str) -> tuple[str, Any]:
    """A concrete request for a route: its path with the parameters filled in, and a body for a POST."""
    row = examples["malignant"]
    values = [row[name] for name in FEATURE_NAMES]
    concrete = (
        path.replace("{name}", "wdbc")
        .replace("{version}", version)
        .replace("{asset}", "swagger-ui.css")
        .replace("{proxy+}", "wdbc:predict")
    )
    tensor = {"inputs": [{"name": "input-0", "shape": [1, 30], "datatype": "FP64", "data": values}]}
    bodies = {
        "/predict": {"features": row},
        "/predict/batch": {"instances": [row, row]},
        "/features": {"outlines": demo().outlines},
    }
    body = bodies.get(concrete, {"instances": [values]} if concrete.startswith("/v1/") else tensor)
    return concrete, body if method == "POST" else None


def test_start_api_serves_every_route_through_the_function(
    built: Path, api: str, examples: dict[str, dict[str, float]]
) -> None:
    # GIVEN every route of the template as `sam local start-api` mounts it
    routes = _routes(built)
    assert len(routes) == 21
    version = json.loads(_request(f"{api}/model")[2])["model_version"]
    for method, path in routes:
        # WHEN each is called as a client would
        concrete, body = _request_for(method, path, examples, version)
        status, headers, raw = _request(api + concrete, method, body)
        # THEN our app answers it (its headers), successfully
        assert status == 200, (method, path, status, raw[:500])
        assert headers.get("x-content-type-options") == "nosniff", (method, path, headers)
        if concrete == "/predict":
            assert json.loads(raw)["label"] == "malignant"


def test_smoke_checks_pass_against_start_api(api: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "infra.smoke", api], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 of 9 checks passed" in result.stdout


def test_the_page_works_through_start_api(api: str, page: Any) -> None:
    page.goto(api + "/")
    assert "not a diagnostic tool" in page.inner_text("body")
    page.click("#fill-malignant")
    page.click("#submit")
    page.wait_for_selector("#result .result-label")
    assert "malignant" in page.inner_text("#result").lower()
    assert page.problems == []


def test_schemathesis_finds_nothing_through_start_api(api: str, tmp_path: Path) -> None:
    assert schemathesis_run(api, max_examples=8, report_dir=tmp_path, behind_sam_local=True, timeout=900) >= 200


def test_what_sam_locals_gateway_answers_itself(api: str) -> None:
    """The requests the schemathesis run above adapts: SAM's gateway answers them, not the function."""
    # A body that is not UTF-8: SAM cannot put it in the event (API Gateway would base64-encode it)
    status, headers, raw = _request_bytes(api + "/predict", b"\xff\xfe")
    assert (status, json.loads(raw)) == (502, {"message": "Internal server error"})
    assert "x-content-type-options" not in headers
    # A method no route declares, and a path parameter with a control character: no route matched
    for method, path in (("TRACE", "/health"), ("POST", "/v1/models/a%0Ab:predict")):
        status, headers, raw = _request(api + path, method, {} if method == "POST" else None)
        assert (status, json.loads(raw)) == (403, {"message": "Missing Authentication Token"}), (method, path)


class _CodeDeploy(BaseHTTPRequestHandler):
    """CodeDeploy's PutLifecycleEventHookExecutionStatus, recorded (moto does not implement it)."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.calls.append({"target": self.headers["x-amz-target"], **body})
        answer = json.dumps({"lifecycleEventHookExecutionId": body["lifecycleEventHookExecutionId"]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def codedeploy() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _CodeDeploy)
    _CodeDeploy.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _CodeDeploy.calls
    server.shutdown()


def test_pre_traffic_hook_gates_the_function_running_under_start_lambda(
    built: Path,
    artifact_dir: Path,
    tmp_path: Path,
    codedeploy: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the function served by `sam local start-api`'s sibling for the Lambda API, and a CodeDeploy
    deploy_url, calls = codedeploy
    # AND a model layer whose golden examples the function no longer reproduces
    drifted = tmp_path / "drifted"
    drifted.mkdir()
    manifest = json.loads((artifact_dir / "manifest.json").read_text())
    for expected in manifest["golden"]:
        expected["probability_malignant"] = 0.5
    (drifted / "manifest.json").write_text(json.dumps(manifest))
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_CODEDEPLOY": deploy_url,
        "TARGET_VERSION_ARN": sam.FUNCTION,
    }.items():
        monkeypatch.setenv(key, value)
    with sam.serving(built, "start-lambda", tmp_path / "start-lambda.log") as lambda_url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_url)
        outcomes = {}
        for name, model in (("good", artifact_dir), ("drifted", drifted)):
            monkeypatch.setenv("MODEL_DIR", str(model))
            # WHEN CodeDeploy calls the hook before shifting traffic
            hook_event = {"DeploymentId": f"d-{name}", "LifecycleEventHookExecutionId": f"e-{name}"}
            outcomes[name] = pretraffic.handler(hook_event, None)["status"]
    # THEN the good model passes and the drifted one fails, as CodeDeploy was told
    assert outcomes == {"good": "Succeeded", "drifted": "Failed"}
    assert [(c["deploymentId"], c["status"]) for c in calls] == [("d-good", "Succeeded"), ("d-drifted", "Failed")]
    assert {c["target"] for c in calls} == {"CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"}
