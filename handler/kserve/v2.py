"""The Open Inference Protocol (KServe "V2" REST): the same predictor, translated to and from tensors.

Inputs are one `[n, 30]` tensor in schema order, or 30 named `[n]` inputs (Seldon MLServer's pandas
codec, `parameters.content_type: "pd"`). Outputs are `predict` and `predict_proba` by default, as
Seldon's scikit-learn runtime names them, and on request the calibrated set, the flags and the exact
explanation. Errors answer `{"error": "..."}` as the protocol says, bounded like every other error.
"""

from collections.abc import Callable, Sequence
from functools import partial
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handler.deps import AppState, Asked, StrictJSONRoute, state_of
from handler.errors import shorten, shorten_text
from handler.kserve.codec import (
    NAME,
    NUMBER_TYPES,
    V2_PREFIX,
    VERSION,
    Predict,
    ProtocolError,
    check_model,
    decoded,
    model_ready,
    options,
    protocol_predictions,
)
from handler.limits import MAX_ECHO_CHARS
from handler.openapi import documented, success
from model.predictor import ANSWER, LABELS, Predictions
from model.schema import DISCLAIMER, FEATURE_NAMES, N_FEATURES

SERVER_NAME = "wdbc-classifier"
NUMERIC = frozenset({"FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
DEFAULT_OUTPUTS = ("predict", "predict_proba")


class Output(NamedTuple):
    """One output tensor, declared once: its metadata, the OpenAPI enum and its data come from here."""

    datatype: str
    shape: tuple[int, ...]  # after n
    description: str
    column: Callable[[Predictions], Any]  # its values, one row per record

    def metadata(self) -> dict[str, Any]:
        return {"datatype": self.datatype, "shape": [-1, *self.shape], "parameters": {"description": self.description}}


# An output that is also a field of the JSON answer carries that field's description (model.predictor.ANSWER).
_ANSWERS = {field.name: field.description for field in ANSWER}
OUTPUTS: dict[str, Output] = {
    "predict": Output(
        "INT64", (), "1 = malignant, 0 = benign, at the operating point", lambda p: p.malignant.astype(np.int64)
    ),
    "predict_proba": Output(
        "FP64",
        (2,),
        "calibrated probabilities of benign, then malignant",
        lambda p: np.stack([1.0 - p.probability, p.probability], axis=1),
    ),
    "label": Output("BYTES", (), _ANSWERS["label"], lambda p: np.array(LABELS)[p.malignant.astype(np.intp)]),
    "prediction_set": Output(
        "BOOL", (2,), f"{_ANSWERS['prediction_set']}: benign in it, malignant in it", lambda p: p.in_set
    ),
    "indeterminate": Output("BOOL", (), _ANSWERS["indeterminate"], lambda p: p.indeterminate),
    "out_of_distribution": Output("BOOL", (), _ANSWERS["out_of_distribution"], lambda p: p.out_of_distribution),
    "ood_distance": Output("FP64", (), "Mahalanobis distance behind out_of_distribution", lambda p: p.ood_distance),
    "shap_values": Output(
        "FP64", (N_FEATURES,), "exact Shapley values in calibrated log-odds, schema order", lambda p: p.contributions
    ),
    "shap_base_value": Output(
        "FP64", (), "base value: base + sum(shap_values) = log-odds", lambda p: np.full(len(p), p.base_value)
    ),
}
EXTENSIONS = tuple(name for name in OUTPUTS if name not in DEFAULT_OUTPUTS)
# The rules between fields of an inference request that JSON Schema cannot state; each error naming one
# ends "(rule NAME)", and the OpenAPI document lists them (handler.openapi.for_tools).
TENSOR_RULES = {
    "shape_matches_data": "a tensor holds as many numbers as its shape says (n x 30, or n)",
    "one_tensor_or_named_columns": f"one [n, {N_FEATURES}] input (content_type np), or {N_FEATURES} inputs named "
    'after the features, each [n] with the same n (content_type "pd")',
}


# The request's models are built when the first request is parsed (defer_build), not at init.
class TensorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[Any]


class OutputRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    """An inference request; `parameters` may set `operating_point`, `alpha` and `content_type`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str | None = None
    # Not in the protocol's request schema, but KServe's SDK (InferRequest.to_rest) always sends the
    # model's name, and its servers accept it; when given, it must name the model of the path.
    model_name: str | None = Field(None, description="if given, the model of the path (KServe's SDK sends it)")
    model_version: str | None = Field(None, description="if given, the version being served")
    parameters: dict[str, Any] | None = None
    inputs: list[TensorIn] = Field(min_length=1)
    outputs: list[OutputRequest] | None = None


def _parse(raw: bytes) -> InferenceRequest:
    document = decoded(raw)
    try:
        return InferenceRequest.model_validate(document)
    except ValidationError as err:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}, got {shorten(e.get('input'))!r}"
            for e in err.errors()[:3]
        ]
        more = f" (and {err.error_count() - 3} more)" if err.error_count() > 3 else ""
        raise ProtocolError(400, "the inference request is malformed: " + "; ".join(problems) + more) from err


def _numbers(tensor: TensorIn, count: int, rank: int) -> list[Any]:
    """The tensor's data as a flat list of `count` numbers, nested (`rank` levels) or flat, row-major."""
    where = f"input {shorten_text(tensor.name, MAX_ECHO_CHARS)!r}"
    if tensor.datatype not in NUMERIC:
        raise ProtocolError(400, f"{where}: datatype {shorten_text(tensor.datatype, 20)!r} is not numeric; use FP64")
    data = tensor.data
    if rank == 2 and data and isinstance(data[0], list):
        if not all(isinstance(row, list) and len(row) == N_FEATURES for row in data):
            raise ProtocolError(
                400, f"{where}: nested data must be rows of {N_FEATURES} numbers each (rule shape_matches_data)"
            )
        data = list(chain.from_iterable(data))
    if len(data) != count:
        raise ProtocolError(
            400, f"{where}: shape {tensor.shape} needs {count} values, got {len(data)} (rule shape_matches_data)"
        )
    kinds = set(map(type, data))
    if not kinds <= set(NUMBER_TYPES):
        odd = sorted(k.__name__ for k in kinds - set(NUMBER_TYPES))
        raise ProtocolError(400, f"{where}: every value must be a number, got {odd} (booleans and strings are refused)")
    return data


def _rows(request: InferenceRequest, limit: int) -> tuple[np.ndarray, str]:
    """(rows (n, 30) in schema order, the prefix that names a row in messages)."""
    inputs = request.inputs
    content_type = (request.parameters or {}).get("content_type")
    names = [i.name for i in inputs]
    if content_type == "pd" or (len(inputs) > 1 and set(names) <= set(FEATURE_NAMES)):
        return _columns(inputs, limit)
    if content_type not in (None, "np"):
        raise ProtocolError(400, f"parameters.content_type must be 'np' or 'pd', got {shorten(content_type)!r}")
    if len(inputs) != 1:
        raise ProtocolError(
            400,
            f"expected one [n, {N_FEATURES}] input, or {N_FEATURES} inputs named after the features with "
            f'parameters.content_type "pd"; got {len(inputs)} inputs (rule one_tensor_or_named_columns)',
        )
    [tensor] = inputs
    if len(tensor.shape) != 2 or tensor.shape[1] != N_FEATURES or not 1 <= tensor.shape[0] <= limit:
        raise ProtocolError(
            400,
            f"input {shorten_text(tensor.name, MAX_ECHO_CHARS)!r}: shape must be [n, {N_FEATURES}] with n from 1 "
            f"to {limit}, got {shorten(tensor.shape)} (rule one_tensor_or_named_columns)",
        )
    n = tensor.shape[0]
    x = np.array(_numbers(tensor, n * N_FEATURES, 2), dtype=np.float64).reshape(n, N_FEATURES)
    return x, f"input {shorten_text(tensor.name, MAX_ECHO_CHARS)!r} row {{i}} feature "


def _columns(inputs: Sequence[TensorIn], limit: int) -> tuple[np.ndarray, str]:
    by_name = {i.name: i for i in inputs}
    missing = [name for name in FEATURE_NAMES if name not in by_name]
    unknown = [shorten_text(name, MAX_ECHO_CHARS) for name in by_name if name not in FEATURE_NAMES]
    if missing or unknown or len(by_name) != len(inputs):
        raise ProtocolError(
            400,
            f"named inputs must be the {N_FEATURES} features, once each; missing {missing[:10]}, "
            f"unknown {unknown[:5]}, repeated {len(inputs) - len(by_name)} (rule one_tensor_or_named_columns)",
        )
    n = by_name[FEATURE_NAMES[0]].shape[0] if by_name[FEATURE_NAMES[0]].shape else 0
    columns = []
    for name in FEATURE_NAMES:
        tensor = by_name[name]
        if tensor.shape not in ([n], [n, 1]) or not 1 <= n <= limit:
            raise ProtocolError(
                400,
                f"input {name!r}: shape must be [n] with n from 1 to {limit}, the same for every input "
                "(rule one_tensor_or_named_columns)",
            )
        columns.append(_numbers(tensor, n, 1))
    return np.array(columns, dtype=np.float64).T.copy(), "row {i} feature "


def _wanted(request: InferenceRequest) -> list[str]:
    names = [o.name for o in request.outputs] if request.outputs else list(DEFAULT_OUTPUTS)
    unknown = [shorten_text(n, MAX_ECHO_CHARS) for n in names if n not in OUTPUTS]
    if unknown:
        raise ProtocolError(400, f"unknown outputs {unknown[:5]}; this model has {list(OUTPUTS)}")
    return list(dict.fromkeys(names))


def _check_body_names(body: InferenceRequest, name: str, version: str) -> None:
    """The model name and version a client put in the body (KServe's SDK does) must be the path's."""
    for key, given, expected in (("model_name", body.model_name, name), ("model_version", body.model_version, version)):
        if given is not None and given != expected:
            shown = shorten_text(given, MAX_ECHO_CHARS)
            raise ProtocolError(
                400, f"{key} {shown!r} in the body differs from the {expected!r} of the path; drop it or match"
            )


def _asked(request: Request) -> tuple[AppState, str, str | None]:
    """(state, model name, version or None) of a request to a model's route, the model checked."""
    state, params = state_of(request), request.path_params
    name, version = params["name"], params.get("version")
    check_model(state, name, version)
    return state, name, version


def server_metadata(state: AppState) -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": state.predictor.version, "extensions": list(EXTENSIONS)}


LIVE = {"live": True}
READY = {"ready": True}


# The endpoints carry no docstring: FastAPI would publish it as the operation's description.
async def _server_metadata(request: Request) -> dict[str, Any]:
    return server_metadata(state_of(request))


async def _live() -> dict[str, bool]:
    return LIVE


async def _ready() -> dict[str, bool]:
    return READY


async def _model_metadata(request: Request) -> dict[str, Any]:
    return metadata(_asked(request)[0])


async def _model_ready(request: Request) -> dict[str, Any]:
    return model_ready(_asked(request)[1])


def metadata(state: AppState) -> dict[str, Any]:
    return {
        "name": state.settings.model_name,
        "versions": [state.predictor.version],
        "platform": "numpy",
        "inputs": [
            {
                "name": "input-0",
                "datatype": "FP64",
                "shape": [-1, N_FEATURES],
                "parameters": {"content_type": "np", "feature_order": list(FEATURE_NAMES)},
            }
        ],
        "outputs": [{"name": name, **out.metadata()} for name, out in OUTPUTS.items()],
        "parameters": {
            "disclaimer": DISCLAIMER,
            "labels": {"0": LABELS[0], "1": LABELS[1]},
            "default_outputs": list(DEFAULT_OUTPUTS),
            "operating_points": state.predictor.operating_points,
            "alphas": sorted(state.predictor.conformal),
        },
    }


INFER_DOCS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}},
    },
    **success("InferenceResponse"),
}


async def _infer(request: Request) -> JSONResponse:
    """Inference; every failure raises ProtocolError, answered as the protocol says by handler.exceptions."""
    state, name, version = _asked(request)
    if "inference-header-content-length" in request.headers:
        raise ProtocolError(
            400, "the binary tensor data extension is not supported; send JSON data (binary_data=False)"
        )
    body = _parse(await request.body())
    _check_body_names(body, name, version or state.predictor.version)
    return JSONResponse(infer_answer(state, body, partial(protocol_predictions, state)))


def _tensor(name: str, output: Output, predictions: Predictions) -> dict[str, Any]:
    """One output of an inference response, its data row-major."""
    data: list[Any] = np.ravel(output.column(predictions)).tolist()
    return {"name": name, "datatype": output.datatype, "shape": [len(predictions), *output.shape], "data": data}


def infer_answer(state: AppState, body: InferenceRequest, predict: Predict) -> dict[str, Any]:
    """The inference response to a parsed request whose model was checked; ProtocolError when it cannot be one."""
    x, prefix = _rows(body, state.settings.max_batch_size)
    point, alpha = options(body.parameters)
    wanted = _wanted(body)
    explain = "shap_values" in wanted or "shap_base_value" in wanted
    predictions = predict(x, Asked(point, alpha, explain), prefix)
    outputs = [_tensor(name, OUTPUTS[name], predictions) for name in wanted]
    answer: dict[str, Any] = {
        "model_name": state.settings.model_name,
        "model_version": state.predictor.version,
        "parameters": {
            "operating_point": point,
            "threshold": state.predictor.operating_points[point],
            "alpha": alpha,
            "disclaimer": DISCLAIMER,
        },
        "outputs": outputs,
    }
    if body.id is not None:
        answer["id"] = body.id
    return answer


async def _infer_route(request: Request) -> JSONResponse:
    return await _infer(request)


# (method, path, endpoint, operation name, summary, documentation), in the order of the OpenAPI document.
ROUTES: tuple[tuple[str, str, Any, str, str, dict[str, Any]], ...] = (
    ("GET", "", _server_metadata, "server_metadata", "Server metadata", documented("ServerMetadataResponse")),
    ("GET", "/health/live", _live, "live", "Server live", documented("ServerLiveResponse")),
    ("GET", "/health/ready", _ready, "ready", "Server ready", documented("ServerReadyResponse")),
    (
        "GET",
        "/models/{name}",
        _model_metadata,
        "model_metadata",
        "Model metadata",
        documented("ModelMetadataResponse", NAME),
    ),
    (
        "GET",
        "/models/{name}/versions/{version}",
        _model_metadata,
        "version_metadata",
        "Model metadata, one version",
        documented("ModelMetadataResponse", NAME, VERSION),
    ),
    ("GET", "/models/{name}/ready", _model_ready, "model_ready", "Model ready", documented("ModelReadyResponse", NAME)),
    (
        "GET",
        "/models/{name}/versions/{version}/ready",
        _model_ready,
        "version_ready",
        "Model ready, one version",
        documented("ModelReadyResponse", NAME, VERSION),
    ),
    ("POST", "/models/{name}/infer", _infer_route, "infer", "Inference", documented(None, NAME, **INFER_DOCS)),
    (
        "POST",
        "/models/{name}/versions/{version}/infer",
        _infer_route,
        "infer_version",
        "Inference, one version",
        documented(None, NAME, VERSION, **INFER_DOCS),
    ),
)


def routes() -> APIRouter:
    """The V2 routes."""
    router = APIRouter(route_class=StrictJSONRoute, prefix=V2_PREFIX, tags=["Open Inference Protocol (V2)"])
    for method, path, endpoint, name, summary, documentation in ROUTES:
        router.add_api_route(path, endpoint, methods=[method], name=name, summary=summary, **documentation)
    return router
