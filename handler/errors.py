"""The one shape of every error the app returns, bounded whatever was sent; `handler.exceptions` maps errors to it."""

import json
import math
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from handler.headers import JSON_HEADERS
from handler.limits import (
    MAX_DETAIL_CHARS,
    MAX_ECHO_CHARS,
    MAX_ERROR_BYTES,
    MAX_FIELD_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_VIOLATIONS,
)
from model.errors import Violation
from model.schema import DISCLAIMER


def shorten_text(text: str, limit: int) -> str:
    """At most `limit` characters (and a count of the rest), control characters written as escapes."""
    head = text[: limit + 1]
    if not head.isprintable():
        head = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in head)
    return head if len(text) <= limit and len(head) <= limit else head[:limit] + f"... ({len(text)} chars)"


# A list or object is shown whole when it holds at most this many scalars, nested at most this deep,
# and its JSON fits MAX_ECHO_CHARS: a shape [1, 29] or {"value": 1} is the useful part of a message.
SMALL_SCALARS = 12
SMALL_DEPTH = 3


def _small(value: Any, budget: list[int], depth: int = 0) -> bool:
    """Whether `value` is a short, shallow JSON value; looks at no more than SMALL_SCALARS items."""
    if isinstance(value, list | dict):
        if depth >= SMALL_DEPTH or len(value) > budget[0]:
            return False
        items = value.values() if isinstance(value, dict) else value
        keys_short = (
            all(isinstance(k, str) and len(k) <= MAX_ECHO_CHARS for k in value) if isinstance(value, dict) else True
        )
        return keys_short and all(_small(v, budget, depth + 1) for v in items)
    budget[0] -= 1
    if isinstance(value, float):
        return budget[0] >= 0 and math.isfinite(value)
    if isinstance(value, str):
        return budget[0] >= 0 and len(value) <= MAX_ECHO_CHARS and value.isprintable()
    return budget[0] >= 0 and (
        value is None or isinstance(value, bool) or (isinstance(value, int) and abs(value) < 10**15)
    )


def shorten(value: Any) -> Any:
    """A JSON-safe, bounded rendering of an offending value: small ones as they are, others described."""
    small = isinstance(value, list | dict) and _small(value, [SMALL_SCALARS])
    if small and len(json.dumps(value, ensure_ascii=False)) <= MAX_ECHO_CHARS:
        return value
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


def proxy_error(status: int, detail: str) -> dict[str, Any]:
    """The error as a Lambda proxy response, for what is answered before the app sees a request."""
    return {"statusCode": status, "headers": dict(JSON_HEADERS), "body": json.dumps(error_body(status, detail))}
