"""API Gateway events: what the function accepts as one, and how Mangum reads REST (v1) and HTTP API (v2) stages.

A malformed event is answered 400 before Mangum sees it, with a message saying what is wrong and
what the function expects; nothing the caller sent is repeated at length.
"""

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from mangum.handlers import APIGateway, HTTPGateway
from mangum.types import Scope

from handler.errors import proxy_error, shorten_text
from handler.limits import MAX_ECHO_CHARS

EXPECTED = "this function answers API Gateway (REST v1 or HTTP API v2) events"


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


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _string_map(value: object, lists: bool = False) -> bool:
    """None, or an object whose values are strings (or lists of strings)."""
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    if lists:
        return all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in value.values())
    return all(isinstance(v, str) for v in value.values())


def _request_line_problem(event: dict[str, Any]) -> str | None:
    context = event.get("requestContext")
    if not isinstance(context, dict):
        return f"requestContext must be an object, got {_kind(context)}"
    if "httpMethod" in event:
        if not isinstance(event["httpMethod"], str):
            return f"httpMethod must be a string, got {_kind(event['httpMethod'])}"
        if not isinstance(event.get("path"), str):
            return f"path must be a string, got {_kind(event.get('path'))}"
        return None
    http = context.get("http")
    if not isinstance(http, dict):
        return "the event has neither httpMethod (REST API) nor requestContext.http (HTTP API)"
    if not isinstance(http.get("method"), str):
        return f"requestContext.http.method must be a string, got {_kind(http.get('method'))}"
    if not isinstance(event.get("rawPath"), str):
        return f"rawPath must be a string, got {_kind(event.get('rawPath'))}"
    if not isinstance(event.get("rawQueryString", ""), str):
        return f"rawQueryString must be a string, got {_kind(event.get('rawQueryString'))}"
    return None


def event_problem(event: Any) -> str | None:
    """What makes `event` unreadable as an API Gateway proxy request, or None when it is readable."""
    if not isinstance(event, dict):
        return f"the event is a JSON {_kind(event)}, not an object"
    problem = _request_line_problem(event)
    if problem:
        return problem
    for name, lists in (
        ("headers", False),
        ("queryStringParameters", False),
        ("pathParameters", False),
        ("multiValueHeaders", True),
        ("multiValueQueryStringParameters", True),
    ):
        if not _string_map(event.get(name), lists):
            shape = "lists of strings" if lists else "strings"
            return f"{name} must be null or an object of {shape}, got {_kind(event.get(name))}"
    cookies = event.get("cookies")
    if cookies is not None and not (isinstance(cookies, list) and all(isinstance(c, str) for c in cookies)):
        return f"cookies must be null or a list of strings, got {_kind(cookies)}"
    body, encoded = event.get("body"), event.get("isBase64Encoded", False)
    if body is not None and not isinstance(body, str):
        return f"body must be null or a string, got {_kind(body)}"
    if not isinstance(encoded, bool):
        return f"isBase64Encoded must be true or false, got {_kind(encoded)}"
    if encoded and body:
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return "isBase64Encoded is true but the body is not valid base64"
    return None


def bad_event(problem: str, event: Any) -> dict[str, Any]:
    """The 400 proxy response for an event the function cannot read."""
    keys = [shorten_text(str(k), MAX_ECHO_CHARS) for k in sorted(event)[:10]] if isinstance(event, dict) else []
    return proxy_error(400, f"{EXPECTED}: {problem}; the event had keys {keys}. Call it through the API's URL.")


def route_path(scope: Mapping[str, Any]) -> str:
    """The path below the stage prefix (ASGI root_path), as the router matches it."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] or "/" if root and path.startswith(root) else path
