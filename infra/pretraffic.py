"""CodeDeploy's pre-traffic hook: the new version must reproduce the model's golden examples.

Deployed as its own small function with `infra/golden.py` and `model/manifest.py` beside it (standard
library and the runtime's boto3 only; no numpy). Before CodeDeploy shifts any traffic, it sends each
golden example of the new model layer's manifest to the new function version as an API Gateway
event, and reports Succeeded only if `infra.golden.check` finds nothing wrong. Anything else, an
exception included, reports Failed, and CodeDeploy rolls the release back.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra import golden
from model import manifest
from model.manifest import Release

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


def check(invoke: Invoke, release: Release) -> list[str]:
    """What the version behind `invoke` gets wrong about the release's golden examples (empty: nothing)."""

    def ask(features: Mapping[str, float], operating_point: str) -> tuple[int, Mapping[str, Any]]:
        body = {"features": dict(features), "explain": True, "operating_point": operating_point}
        answer = invoke(api_event(body))
        status = int(answer.get("statusCode", 0))
        return status, json.loads(answer["body"]) if status == 200 else {"body": answer.get("body")}

    return golden.check(release, ask)


def run(event: dict[str, Any], invoke: Invoke, report: Callable[[str, str, str], None], manifest_path: Path) -> str:
    """Check the new version and report the outcome to CodeDeploy; returns the status reported."""
    try:
        problems = check(invoke, manifest.release(json.loads(manifest_path.read_text())))
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

    path = Path(os.environ.get("MODEL_DIR", "/opt/model")) / manifest.FILE
    return {"status": run(event, invoke, report, path)}
