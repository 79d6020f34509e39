"""What KServe's two protocols share: JSON bodies, the options, the model check, the predictor's call,
and the one error type, answered `{"error": "..."}` as both protocols say (handler.exceptions)."""

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi.responses import JSONResponse

from handler.deps import AppState, Asked, no_duplicate_keys, predictions_for
from handler.errors import shorten, shorten_text
from handler.limits import MAX_DETAIL_CHARS, MAX_ECHO_CHARS, MAX_MESSAGE_CHARS
from model.errors import InputError, UnknownOptionError
from model.predictor import Predictions
from model.schema import DEFAULT_ALPHA, DEFAULT_OPERATING_POINT

V1_PREFIX = "/v1"
V2_PREFIX = "/v2"
NUMBER_TYPES = (int, float)  # JSON numbers; booleans are refused apart
# The statuses both protocols answer with, {"error": ...} (ErrorOut), documented by handler.openapi.
ERROR_STATUSES = {
    400: "malformed request, or a record that breaks a rule (named with input or instance, row, feature, rule, value)",
    404: "no such route, or an unknown model name or version (the answer names what exists)",
    405: "method not allowed on this route",
    413: "body over the size limit",
    415: "a content type other than application/json",
}
# Path parameters are read from the request (handler.openapi.documented documents them).
NAME = ("name", "the model's name (MODEL_NAME, default wdbc)")
VERSION = ("version", "the model version (the artifact's content hash)")

# (rows, what was asked, the prefix naming a row in messages) -> the predictor's answer
Predict = Callable[[np.ndarray, Asked, str], Predictions]


class ProtocolError(Exception):
    """A KServe protocol's error: answered {"error": message} with `status` (handler.exceptions)."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def is_v2(path: str) -> bool:
    """Whether `path` (below the stage prefix) belongs to the Open Inference Protocol routes."""
    return _under(path, V2_PREFIX)


def is_kserve(path: str) -> bool:
    """Whether `path` (below the stage prefix) belongs to either protocol's routes."""
    return _under(path, V2_PREFIX) or _under(path, V1_PREFIX)


def protocol_error(status: int, detail: str) -> JSONResponse:
    """{"error": "..."}, bounded like every other error."""
    return JSONResponse({"error": shorten_text(detail, MAX_DETAIL_CHARS)}, status_code=status)


def decoded(raw: bytes) -> Any:
    """A request's JSON body, no key repeated; a ProtocolError (400) saying why it is not one."""
    try:
        return json.loads(raw, object_pairs_hook=no_duplicate_keys)
    except (ValueError, RecursionError) as err:
        reason = shorten_text(str(err) or type(err).__name__, MAX_MESSAGE_CHARS)
        raise ProtocolError(400, f"the body is not valid JSON: {reason}") from err


def options(parameters: dict[str, Any] | None) -> tuple[str, float]:
    """(operating point, alpha) from a request's parameters, the defaults where absent."""
    parameters = parameters or {}
    point = parameters.get("operating_point", DEFAULT_OPERATING_POINT)
    alpha = parameters.get("alpha", DEFAULT_ALPHA)
    if not isinstance(point, str):
        raise ProtocolError(400, f"parameters.operating_point must be a string, got {shorten(point)!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, NUMBER_TYPES):
        raise ProtocolError(400, f"parameters.alpha must be a number, got {shorten(alpha)!r}")
    return point, float(alpha)


def protocol_predictions(state: AppState, x: np.ndarray, asked: Asked, prefix: str) -> Predictions:
    """The predictor's answer for either protocol: a broken rule or option is a ProtocolError (400)."""
    try:
        return predictions_for(state, x, asked, prefix)
    except InputError as err:
        shown = "; ".join(f"{v.message} (rule {v.rule})" for v in err.violations[:3])
        more = f" (and {len(err.violations) - 3} more)" if len(err.violations) > 3 else ""
        raise ProtocolError(400, shown + more) from err
    except UnknownOptionError as err:
        raise ProtocolError(400, f"parameters.{err}") from err


def check_model(state: AppState, name: str, version: str | None) -> None:
    served, current = state.settings.model_name, state.predictor.version
    if name != served or version not in (None, current):
        asked = f"model {shorten_text(name, MAX_ECHO_CHARS)!r}" + (
            "" if version is None else f" version {shorten_text(version, MAX_ECHO_CHARS)!r}"
        )
        raise ProtocolError(404, f"unknown {asked}; this server serves model {served!r}, versions [{current!r}]")


def model_ready(name: str) -> dict[str, Any]:
    return {"name": name, "ready": True}
