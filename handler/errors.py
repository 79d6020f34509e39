"""Every error the app returns, in one shape, mapped in one place. Domain errors know nothing of HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from handler.limits import (
    MAX_DETAIL_CHARS,
    MAX_ECHO_CHARS,
    MAX_ERROR_BYTES,
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_VIOLATIONS,
)
from handler.observability import logger, record_validation_error
from model.errors import ExplanationError, InputError, UnknownOptionError, Violation
from model.schema import DISCLAIMER, N_FEATURES

RULES = {
    "finite_number": "finite",
    "greater_than_equal": "non_negative",
    "float_type": "type",
    "float_parsing": "type",
    "bool_type": "type",
    "model_type": "type",
    "model_attributes_type": "type",
    "dict_type": "type",
    "list_type": "type",
    "missing": "required",
    "extra_forbidden": "known_field",
    "too_short": "batch_size",
    "too_long": "batch_size",
    "literal_error": "allowed_value",
    "json_invalid": "json",
    "too_many_keys": "known_field",
    "bad_records": "bad_records",
}


def shorten_text(text: str, limit: int) -> str:
    """At most `limit` characters (and a count of the rest), control characters written as escapes."""
    head = text[: limit + 1]
    if not head.isprintable():
        head = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in head)
    return head if len(text) <= limit and len(head) <= limit else head[:limit] + f"... ({len(text)} chars)"


def shorten(value: Any) -> Any:
    """A JSON-safe, bounded rendering of an offending value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**15 else shorten_text(str(value), MAX_ECHO_CHARS)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return shorten_text(value, MAX_ECHO_CHARS)
    if isinstance(value, list) and len(value) <= 5 and all(isinstance(v, str) for v in value):
        return [shorten_text(v, MAX_ECHO_CHARS) for v in value]
    kind = type(value).__name__
    size = f" of {len(value)} items" if isinstance(value, Sequence | dict) else ""
    return f"<{kind}{size}>"


def bounded(v: Violation) -> Violation:
    """The violation with every text shortened to our limits."""
    return Violation(
        shorten_text(v.field, MAX_FIELD_CHARS),
        v.rule,
        shorten(v.value),
        shorten_text(v.message, MAX_MESSAGE_CHARS),
    )


def error_body(status: int, detail: str, violations: Sequence[Violation] = ()) -> dict[str, Any]:
    """The one shape of every error answer, at most MAX_ERROR_BYTES whatever was sent.

    `violations` past MAX_VIOLATIONS are counted in "truncated" rather than listed.
    """
    listed = [bounded(v).as_dict() for v in violations[:MAX_VIOLATIONS]]
    truncated = max(0, len(violations) - MAX_VIOLATIONS)

    def body() -> dict[str, Any]:
        error = {
            "status": status,
            "title": HTTPStatus(status).phrase,
            "detail": shorten_text(detail, MAX_DETAIL_CHARS),
            "violations": listed,
            "truncated": truncated,
        }
        return {"error": error, "disclaimer": DISCLAIMER}

    # Every text is shortened, so 20 violations take a few KB; where escapes make them longer, the last
    # ones are counted instead of listed until the answer fits.
    while listed and len(json.dumps(body(), ensure_ascii=False).encode()) > MAX_ERROR_BYTES:
        listed.pop()
        truncated += 1
    return body()


def error_response(status: int, detail: str, violations: Sequence[Violation] = ()) -> JSONResponse:
    return JSONResponse(error_body(status, detail, violations), status_code=status)


V2_PREFIX = "/v2"


class V2Error(Exception):
    """An Open Inference Protocol error: answered {"error": message} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


def route_path(scope: Mapping[str, Any]) -> str:
    """The path below the stage prefix (ASGI root_path), as the router matches it."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] or "/" if root and path.startswith(root) else path


def is_v2(path: str) -> bool:
    """Whether `path` (below the stage prefix) belongs to the Open Inference Protocol routes."""
    return path == V2_PREFIX or path.startswith(V2_PREFIX + "/")


def v2_error(status: int, detail: str) -> JSONResponse:
    """An Open Inference Protocol error: {"error": "..."}, bounded like every other error."""
    return JSONResponse({"error": shorten_text(detail, MAX_DETAIL_CHARS)}, status_code=status)


def error_for(path: str, status: int, detail: str) -> JSONResponse:
    """The error answer in the shape the route's protocol expects."""
    return v2_error(status, detail) if is_v2(path) else error_response(status, detail)


def _violations(errors: Sequence[Any]) -> list[Violation]:
    """pydantic's errors -> our violations; the 30 'missing' errors of one record become one."""
    found: list[Violation] = []
    missing: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        kind = str(err.get("type", "invalid"))
        value = shorten(err.get("input"))
        field = ".".join(loc) or "body"
        name = shorten_text(loc[-1], MAX_ECHO_CHARS) if loc else "body"
        parent = ".".join(loc[:-1])
        in_record = parent.endswith("features") or parent.startswith("instances.")
        if kind == "missing" and in_record:
            missing.setdefault(parent, []).append(name)
            continue
        if kind == "extra_forbidden" and in_record:
            message = (
                f"{field}: unknown feature {name!r}; expected the {N_FEATURES} names listed by GET /model, "
                "for example 'radius_mean' or 'concave_points_worst'"
            )
            found.append(Violation(field, "known_feature", name, message))
            continue
        message = f"{field}: {err.get('msg', 'invalid value')}, got {value!r}"
        if kind == "greater_than_equal":
            message += " (a size, count or ratio measured on an image is never negative)"
        found.append(Violation(field, RULES.get(kind, kind), value, message))
    for parent, names in missing.items():
        message = f"{parent}: expected {N_FEATURES} features, got {N_FEATURES - len(names)}; missing: {names}"
        found.append(Violation(parent, "required", names, message))
    return found


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            reason = next(str(e.get("ctx", {}).get("error", "")) for e in errors if e.get("type") == "json_invalid")
            record_validation_error("json")
            return error_response(400, f"the body is not valid JSON: {shorten_text(reason, MAX_MESSAGE_CHARS)}")
        violations = _violations(errors)
        record_validation_error(*(v.rule for v in violations))
        detail = "; ".join(shorten_text(v.message, MAX_MESSAGE_CHARS) for v in violations[:3])
        return error_response(422, detail, violations)

    @app.exception_handler(InputError)
    async def on_input(request: Request, exc: InputError) -> JSONResponse:
        record_validation_error(*(v.rule for v in exc.violations))
        detail = "; ".join(shorten_text(v.message, MAX_MESSAGE_CHARS) for v in exc.violations[:3])
        return error_response(422, detail, exc.violations)

    @app.exception_handler(UnknownOptionError)
    async def on_option(request: Request, exc: UnknownOptionError) -> JSONResponse:
        record_validation_error("allowed_value")
        return error_response(422, str(exc), [Violation(exc.option, "allowed_value", shorten(exc.got), str(exc))])

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        path = shorten_text(request.url.path, MAX_ECHO_CHARS)
        if exc.status_code == 404:
            detail = f"no route {path!r}; see GET /docs for the routes"
        elif exc.status_code == 405:
            method = shorten_text(request.method, MAX_ECHO_CHARS)
            detail = f"method {method} is not allowed on {path!r}; see GET /docs"
        elif exc.status_code == 400:
            detail = f"the body could not be parsed as JSON ({detail})"
        response = error_for(route_path(request.scope), exc.status_code, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(V2Error)
    async def on_v2(request: Request, exc: V2Error) -> JSONResponse:
        record_validation_error("v2")
        return v2_error(exc.status, exc.message)

    @app.exception_handler(ExplanationError)
    async def on_explanation(request: Request, exc: ExplanationError) -> JSONResponse:
        logger.error("explanation withheld", extra={"reason": str(exc)})
        return error_response(500, "internal error: the explanation failed its own check and was withheld")

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": shorten_text(request.url.path, MAX_ECHO_CHARS)})
        return error_response(500, "internal error; the request id in the logs identifies it")
