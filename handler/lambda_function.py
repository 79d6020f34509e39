"""The Lambda entry point: `handler.lambda_function.handler`.

The model is loaded once, at init. A missing or corrupt artifact fails init with one clear log
line rather than leaving a half-working function.
"""

from __future__ import annotations

import json
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum
from mangum.handlers import APIGateway, HTTPGateway
from mangum.types import LambdaContext as MangumContext
from mangum.types import Scope

from handler.app import create_app
from handler.errors import error_body
from handler.observability import logger, metrics
from handler.settings import get_settings
from model.errors import ArtifactError
from model.predictor import Predictor

settings = get_settings()
try:
    predictor = Predictor.load(settings.model_dir)
except ArtifactError as err:
    logger.critical("model failed to load; the function cannot serve", extra={"reason": str(err)})
    raise SystemExit(1) from err
logger.append_keys(model_version=predictor.version)
app = create_app(settings, predictor)


def _stage_prefix(event: dict[str, Any], full_path: str) -> str:
    """'/stage' when the request came through a named stage's URL, so that /docs finds /openapi.json."""
    stage = str(event.get("requestContext", {}).get("stage") or "")
    prefix = f"/{stage}"
    if not stage or stage == "$default":
        return ""
    return prefix if full_path == prefix or full_path.startswith(prefix + "/") else ""


class StagedAPIGateway(APIGateway):
    """REST API (v1) events: `path` lacks the stage, `requestContext.path` has it."""

    @property
    def scope(self) -> Scope:
        scope = super().scope
        prefix = _stage_prefix(self.event, str(self.event["requestContext"].get("path") or ""))
        scope["root_path"] = prefix
        scope["path"] = prefix + scope["path"] if prefix else scope["path"]
        return scope


class StagedHTTPGateway(HTTPGateway):
    """HTTP API (v2) events: `rawPath` carries the stage of a named stage."""

    @property
    def scope(self) -> Scope:
        scope = super().scope
        scope["root_path"] = _stage_prefix(self.event, scope["path"])
        return scope


asgi = Mangum(app, lifespan="off", custom_handlers=[StagedHTTPGateway, StagedAPIGateway])


def _not_api_gateway(event: Any) -> dict[str, Any]:
    keys = sorted(event)[:10] if isinstance(event, dict) else type(event).__name__
    logger.warning("event is not an API Gateway request", extra={"event_keys": keys})
    detail = (
        "this function answers API Gateway (REST v1 or HTTP API v2) events; "
        f"the event had keys {keys}. Call it through the API's URL."
    )
    body = json.dumps(error_body(400, detail))
    return {"statusCode": 400, "headers": {"content-type": "application/json"}, "body": body}


def _is_api_gateway(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("requestContext"), dict)
        and ("httpMethod" in event or "http" in event["requestContext"])
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
    if not _is_api_gateway(event):
        return _not_api_gateway(event)
    # Powertools and Mangum type the same runtime context object with classes of their own.
    return asgi(event, cast(MangumContext, context))
