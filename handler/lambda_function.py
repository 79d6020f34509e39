"""The Lambda entry point: `handler.lambda_function.handler`.

The settings and the model are read once, at init. Anything unusable there (a setting, a missing or
corrupt artifact, a batch limit whose answer could pass Lambda's response limit) fails init with one
CRITICAL JSON line naming the problem, rather than leaving a half-working function.
"""

import gc
import time
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum
from mangum.types import LambdaContext as MangumContext

from handler import IMPORT_STARTED, INIT_PAUSES_GC
from handler.app import check_batch_limit, create_app
from handler.errors import proxy_error
from handler.gateway import StagedAPIGateway, StagedHTTPGateway, bad_event, event_problem
from handler.observability import InitPhases, flush, logger
from handler.settings import SettingsError, get_settings
from model.errors import ArtifactError
from model.predictor import Predictor

phases = InitPhases(IMPORT_STARTED)
phases.mark("imports")
try:
    settings = get_settings()
    predictor = Predictor.load(settings.model_dir)
    phases.mark("artifact load")
    check_batch_limit(settings, predictor)
    phases.mark("answer size")
    app = create_app(settings, predictor)
except SettingsError as err:
    logger.critical("a setting is unusable; the function cannot serve", extra={"reason": str(err)})
    raise SystemExit(1) from err
except ArtifactError as err:
    logger.critical("model failed to load; the function cannot serve", extra={"reason": str(err)})
    raise SystemExit(1) from err
logger.append_keys(model_version=predictor.version)
asgi = Mangum(app, lifespan="off", custom_handlers=[StagedHTTPGateway, StagedAPIGateway])
phases.mark("app creation")
if INIT_PAUSES_GC:
    gc.freeze()
    gc.enable()


_cold = True


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=False, log_event=False
)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    global _cold
    cold, _cold = _cold, False
    started = time.perf_counter()
    try:
        return _answer(event, context)
    finally:
        if cold:
            phases.add("first request", (time.perf_counter() - started) * 1e3)
            phases.write()
        flush(cold)


def _answer(event: Any, context: LambdaContext) -> dict[str, Any]:
    problem = event_problem(event)
    if problem is not None:
        logger.warning("event is not a readable API Gateway request", extra={"problem": problem})
        return bad_event(problem, event)
    try:
        # Powertools and Mangum type the same runtime context object with classes of their own.
        return asgi(event, cast(MangumContext, context))
    except Exception as err:  # the app answers its own errors; what escapes is an event Mangum could not read
        logger.warning("event could not be read", extra={"error_type": type(err).__name__})
        return proxy_error(
            400, "the event could not be read as an API Gateway request; call the function through the API's URL"
        )
