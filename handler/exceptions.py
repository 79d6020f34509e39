"""Every exception the app can meet, mapped to its answer in one place. Domain errors know nothing of HTTP."""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from handler.errors import error_response, shorten, shorten_text
from handler.gateway import route_path
from handler.kserve.codec import ProtocolError, is_kserve, protocol_error
from handler.limits import MAX_ECHO_CHARS, MAX_MESSAGE_CHARS
from handler.observability import logger, record_validation_error
from model.errors import ExplanationError, InputError, UnknownOptionError, Violation
from model.rules import NON_NEGATIVE
from model.schema import N_FEATURES

RULES = {
    "finite_number": "finite",
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


def error_for(path: str, status: int, detail: str) -> JSONResponse:
    """The error answer in the shape the route's protocol expects: KServe's (V1, V2) or ours."""
    return protocol_error(status, detail) if is_kserve(path) else error_response(status, detail)


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
        rule = RULES.get(kind, kind)
        if kind == "greater_than_equal" and in_record:  # a feature below 0: the core's rule, in its words
            message, rule = f"{message} ({NON_NEGATIVE.reason})", NON_NEGATIVE.name
        found.append(Violation(field, rule, value, message))
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

    @app.exception_handler(ProtocolError)
    async def on_protocol(request: Request, exc: ProtocolError) -> JSONResponse:
        record_validation_error("v2")
        return protocol_error(exc.status, exc.message)

    @app.exception_handler(ExplanationError)
    async def on_explanation(request: Request, exc: ExplanationError) -> JSONResponse:
        logger.error("explanation withheld", extra={"reason": str(exc)})
        return error_response(500, "internal error: the explanation failed its own check and was withheld")

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": shorten_text(request.url.path, MAX_ECHO_CHARS)})
        return error_response(500, "internal error; the request id in the logs identifies it")
