"""API Gateway test events built from the templates `sam local generate-event` writes.

`events/base/` holds `sam local generate-event apigateway aws-proxy` (REST, v1) and
`... http-api-proxy` (HTTP API, v2) output unchanged; `event()` fills in method, path, headers and
body. `python -m local.events --model DIR` rewrites the sample events in `events/`, one per route.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from infra.paths import ROOT
from model import manifest as manifest_io
from model.schema import FEATURE_NAMES

EVENTS = ROOT / "events"


def expected_status(name: str) -> int:
    """The status the sample event `name` (a file's stem in events/) must be answered with."""
    if name.startswith("invalid-"):
        return 422
    return 400 if name.startswith("not-api-gateway") else 200


@dataclass
class LocalContext:
    """The attributes of a Lambda context that Powertools reads, for calling the handler in process."""

    function_name: str = "wdbc-classifier"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:wdbc-classifier"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


@cache
def _template(version: str) -> dict[str, Any]:
    name = {"v1": "rest-v1.json", "v2": "http-v2.json"}[version]
    loaded: dict[str, Any] = json.loads((EVENTS / "base" / name).read_text())
    return loaded


def event(
    version: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw_body: bytes | None = None,
    content_type: str | None = "application/json",
    stage_in_path: bool = False,
    base64_body: bool = False,
    query: str = "",
) -> dict[str, Any]:
    """An API Gateway proxy event for `method path`; `stage_in_path` puts the stage before the path."""
    e = copy.deepcopy(_template(version))
    data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
    text = base64.b64encode(data).decode() if base64_body else data.decode("utf-8", errors="surrogateescape")
    headers = {"Host": "1234567890.execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    stage = e["requestContext"]["stage"]
    full = f"/{stage}{path}" if stage_in_path else path
    e.update(body=text or None, isBase64Encoded=base64_body, headers=headers)
    if version == "v1":
        e.update(httpMethod=method, path=path, multiValueHeaders={k: [v] for k, v in headers.items()})
        e.update(queryStringParameters=None, multiValueQueryStringParameters=None, pathParameters={"proxy": path[1:]})
        e["requestContext"].update(httpMethod=method, path=full if stage_in_path else path)
    else:
        e.update(rawPath=full, rawQueryString=query, queryStringParameters=None, cookies=[])
        e["requestContext"]["http"].update(method=method, path=full)
    return e


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    args = parser.parse_args(argv)
    examples = manifest_io.release(json.loads((args.model / manifest_io.FILE).read_text())).examples
    malignant, benign = dict(examples["malignant"].features), dict(examples["benign"].features)
    samples = {
        "predict-v1.json": event("v1", "POST", "/predict", {"features": malignant}),
        "predict-v2.json": event("v2", "POST", "/predict", {"features": benign}),
        "predict-explain-v2.json": event("v2", "POST", "/predict", {"features": malignant, "explain": True}),
        "predict-batch-v2.json": event(
            "v2", "POST", "/predict/batch", {"instances": [benign, malignant], "operating_point": "screening"}
        ),
        "health-v1.json": event("v1", "GET", "/health", content_type=None),
        "health-v2.json": event("v2", "GET", "/health", content_type=None),
        "model-v2.json": event("v2", "GET", "/model", content_type=None),
        "docs-stage-v1.json": event("v1", "GET", "/docs", content_type=None, stage_in_path=True),
        "openapi-stage-v2.json": event("v2", "GET", "/openapi.json", content_type=None, stage_in_path=True),
        "v2-infer-v2.json": event(
            "v2",
            "POST",
            "/v2/models/wdbc/infer",
            {
                "id": "sample-1",
                "inputs": [
                    {
                        "name": "input-0",
                        "shape": [2, len(FEATURE_NAMES)],
                        "datatype": "FP64",
                        "data": [[row[f] for f in FEATURE_NAMES] for row in (benign, malignant)],
                    }
                ],
                "outputs": [{"name": "predict"}, {"name": "predict_proba"}, {"name": "shap_values"}],
            },
        ),
        "v2-metadata-v1.json": event("v1", "GET", "/v2/models/wdbc", content_type=None),
        "invalid-negative-v2.json": event("v2", "POST", "/predict", {"features": {**benign, "radius_mean": -1.0}}),
        "not-api-gateway-s3.json": {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "x.csv"}}}]},
    }
    for name, sample in samples.items():
        (EVENTS / name).write_text(json.dumps(sample, indent=2) + "\n")
        sys.stdout.write(f"{EVENTS / name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
