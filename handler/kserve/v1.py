"""KServe's V1 protocol: model readiness, `:predict` and `:explain`, for clients such as KServe's SDK.

The Open Inference Protocol (V2, `handler.kserve.v2`) defines no explain verb, so KServe's SDK reaches
explanations through V1. Instances are lists of the 30 values in schema order or objects of the 30
named values; the predictor, its rules and limits are the same as for every route, and errors take
KServe's `{"error": "..."}` shape (a ProtocolError, answered by `handler.exceptions`).
"""

import itertools
from functools import partial
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from handler.deps import AppState, Asked, StrictJSONRoute, state_of
from handler.errors import shorten, shorten_text
from handler.kserve.codec import (
    NAME,
    NUMBER_TYPES,
    V1_PREFIX,
    Predict,
    ProtocolError,
    check_model,
    decoded,
    model_ready,
    options,
    protocol_predictions,
)
from handler.limits import MAX_ECHO_CHARS
from handler.openapi import documented
from model.errors import ExplanationError
from model.predictor import Predictions
from model.schema import FEATURE_NAMES, N_FEATURES, envelope

FEATURE_SET = frozenset(FEATURE_NAMES)
BODY_DOCS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V1Request"}}},
    }
}


class ModelName(Convertor[str]):
    """A model name in a V1 path: no slash and no colon, so that `/v1/models/wdbc:predict` is not a model named
    "wdbc:predict" (the readiness route would otherwise match it, and answer 405 naming GET for a POST route)."""

    regex = "[^/:]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("model_name", ModelName())


def _instance(i: int, instance: Any) -> list[Any]:
    """One instance's 30 values in schema order; ProtocolError naming the instance when it is not one."""
    where = f"instances[{i}]"
    if isinstance(instance, dict):
        looked_at = list(itertools.islice(instance, N_FEATURES + 5))  # bounded, however many keys were sent
        unknown = [shorten_text(str(k), MAX_ECHO_CHARS) for k in looked_at if k not in FEATURE_SET][:5]
        missing = [name for name in FEATURE_NAMES if name not in instance][:10]
        if unknown or missing or len(instance) != N_FEATURES:
            raise ProtocolError(
                400,
                f"{where}: expected the {N_FEATURES} features by name (GET /model lists them); "
                f"missing {missing}, unknown {unknown}",
            )
        values = [instance[name] for name in FEATURE_NAMES]
    elif isinstance(instance, list):
        if len(instance) != N_FEATURES:
            raise ProtocolError(400, f"{where}: expected {N_FEATURES} values in schema order, got {len(instance)}")
        values = instance
    else:
        raise ProtocolError(
            400,
            f"{where}: expected a list of {N_FEATURES} numbers or an object of them by name, got {shorten(instance)!r}",
        )
    for name, value in zip(FEATURE_NAMES, values, strict=True):
        if isinstance(value, bool) or not isinstance(value, NUMBER_TYPES):
            raise ProtocolError(400, f"{where}.{name}: expected a number, got {shorten(value)!r}")
    return values


def parse(body: Any, limit: int) -> tuple[np.ndarray, dict[str, Any] | None]:
    """(rows (n, 30), parameters) of a decoded V1 body {"instances": [...], "parameters": {...}}."""
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
        raise ProtocolError(400, f'expected {{"instances": [...]}}, got {shorten(body)!r}')
    unknown = [
        shorten_text(str(k), MAX_ECHO_CHARS) for k in itertools.islice(body, 5) if k not in ("instances", "parameters")
    ]
    if unknown:
        raise ProtocolError(400, f'unknown keys {unknown}; a V1 body holds "instances" and, optionally, "parameters"')
    instances, parameters = body["instances"], body.get("parameters")
    if not 1 <= len(instances) <= limit:
        raise ProtocolError(
            400, f"instances: expected 1 to {limit} instances, got {len(instances)}; send the rest apart"
        )
    if parameters is not None and not isinstance(parameters, dict):
        raise ProtocolError(400, f"parameters must be an object, got {shorten(parameters)!r}")
    rows = [_instance(i, instance) for i, instance in enumerate(instances)]
    return np.array(rows, dtype=np.float64), parameters


def v1_answer(state: AppState, body: Any, explain: bool, predict: Predict) -> dict[str, Any]:
    """The answer of `:predict`, or of `:explain`, to a decoded body; ProtocolError when it cannot be one."""
    x, parameters = parse(body, state.settings.max_batch_size)
    point, alpha = options(parameters)
    predictions = predict(x, Asked(point, alpha, explain), "instances[{i}].")
    return _explanations(predictions) if explain else _predictions(predictions)


def _predictions(predictions: Predictions) -> dict[str, Any]:
    return {"predictions": [{k: v for k, v in p.as_dict().items() if k != "explanation"} for p in predictions]}


def _explanations(predictions: Predictions) -> dict[str, Any]:
    explanations = []
    for p in predictions:
        explanation = p.explanation
        if explanation is None:
            raise ExplanationError("the predictor returned a row without its explanation")
        explanations.append(
            {"label": p.label, "probability_malignant": p.probability_malignant, **explanation.as_dict()}
        )
    return {"explanations": explanations}


async def _answer(request: Request, explain: bool) -> JSONResponse:
    state = state_of(request)
    check_model(state, request.path_params["name"], None)
    answer = v1_answer(state, decoded(await request.body()), explain, partial(protocol_predictions, state))
    return JSONResponse({**answer, **envelope(state.predictor.version)})


# The endpoints carry no docstring: FastAPI would publish it as the operation's description.
async def _model_ready(request: Request) -> dict[str, Any]:
    name = request.path_params["name"]
    check_model(state_of(request), name, None)
    return model_ready(name)


async def _predict(request: Request) -> JSONResponse:
    return await _answer(request, explain=False)


async def _explain(request: Request) -> JSONResponse:
    return await _answer(request, explain=True)


# (method, path, endpoint, operation name, summary, documentation)
ROUTES: tuple[tuple[str, str, Any, str, str, dict[str, Any]], ...] = (
    (
        "GET",
        "/models/{name:model_name}",
        _model_ready,
        "model_ready",
        "Model ready (V1)",
        documented("ModelReadyResponse", NAME),
    ),
    (
        "POST",
        "/models/{name:model_name}:predict",
        _predict,
        "predict",
        "Predict (V1)",
        documented("V1Predictions", NAME, **BODY_DOCS),
    ),
    (
        "POST",
        "/models/{name:model_name}:explain",
        _explain,
        "explain",
        "Explain (V1)",
        documented("V1Explanations", NAME, **BODY_DOCS),
    ),
)


def routes() -> APIRouter:
    """The V1 routes."""
    router = APIRouter(route_class=StrictJSONRoute, prefix=V1_PREFIX, tags=["KServe V1 protocol"])
    for method, path, endpoint, name, summary, documentation in ROUTES:
        router.add_api_route(path, endpoint, methods=[method], name=name, summary=summary, **documentation)
    return router
