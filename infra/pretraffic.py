"""CodeDeploy's pre-traffic hook: the new version must reproduce the model's golden examples.

Deployed as its own small function (standard library and the runtime's boto3 only; no numpy). Before
CodeDeploy shifts any traffic, it sends each golden example of the new model layer's manifest to the
new function version as an API Gateway event, and reports Succeeded only if every label equals the
stored one, every calibrated probability is within 1e-9 of it, and every explanation adds up.
Anything else, an exception included, reports Failed, and CodeDeploy rolls the release back.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOLERANCE = 1e-9
log = logging.getLogger("pretraffic")
log.setLevel(logging.INFO)

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def api_event(body: dict[str, Any]) -> dict[str, Any]:
    """An HTTP API (v2) proxy event for POST /predict, as API Gateway sends it."""
    return {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": "/predict",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "pretraffic.local"},
        "requestContext": {
            "http": {"method": "POST", "path": "/predict", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": f"pretraffic-{uuid.uuid4()}",
            "routeKey": "POST /predict",
            "stage": "$default",
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def check(invoke: Invoke, manifest: dict[str, Any]) -> list[str]:
    """What the version behind `invoke` gets wrong about the manifest's golden examples (empty: nothing)."""
    problems = []
    if not manifest.get("golden"):
        return ["the manifest holds no golden examples"]
    for golden in manifest["golden"]:
        name = golden["example"]
        features = manifest["examples"][name]["features"]
        body = {"features": features, "explain": True, "operating_point": golden["operating_point"]}
        answer = invoke(api_event(body))
        if answer.get("statusCode") != 200:
            problems.append(f"{name}: status {answer.get('statusCode')}, body {str(answer.get('body'))[:200]}")
            continue
        got = json.loads(answer["body"])
        if got.get("model_version") != manifest["model_version"]:
            problems.append(f"{name}: model version {got.get('model_version')}, expected {manifest['model_version']}")
        if got["label"] != golden["label"]:
            problems.append(f"{name}: label {got['label']}, expected {golden['label']}")
        gap = abs(got["probability_malignant"] - golden["probability_malignant"])
        if gap > TOLERANCE:
            problems.append(f"{name}: probability differs from the stored one by {gap:.3g}")
        explanation = got.get("explanation") or {}
        total = explanation.get("base_value", 0.0) + sum(explanation.get("contributions", {}).values())
        if not explanation or abs(total - got["log_odds"]) > TOLERANCE * max(1.0, abs(got["log_odds"])):
            problems.append(f"{name}: the explanation does not add up to the log-odds")
    return problems


def run(event: dict[str, Any], invoke: Invoke, report: Callable[[str, str, str], None], manifest_path: Path) -> str:
    """Check the new version and report the outcome to CodeDeploy; returns the status reported."""
    try:
        problems = check(invoke, json.loads(manifest_path.read_text()))
    except Exception as err:  # whatever stops the check fails the release; the reason goes to the log
        problems = [f"the check could not run: {type(err).__name__}: {str(err)[:300]}"]
    status = "Failed" if problems else "Succeeded"
    log.info(json.dumps({"message": "pre-traffic check", "status": status, "problems": problems}))
    report(event["DeploymentId"], event["LifecycleEventHookExecutionId"], status)
    return status


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    import boto3  # in the Lambda runtime; imported here so that tests of the logic need no AWS

    lambda_client, codedeploy = boto3.client("lambda"), boto3.client("codedeploy")
    target = os.environ["TARGET_VERSION_ARN"]

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        response = lambda_client.invoke(FunctionName=target, Payload=json.dumps(request).encode())
        answer: dict[str, Any] = json.loads(response["Payload"].read())
        return answer

    def report(deployment_id: str, execution_id: str, status: str) -> None:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=execution_id, status=status
        )

    manifest = Path(os.environ.get("MODEL_DIR", "/opt/model")) / "manifest.json"
    return {"status": run(event, invoke, report, manifest)}
