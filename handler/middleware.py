"""ASGI middleware: checks before any parsing (body size 413, content type 415), and headers on JSON answers."""

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handler.errors import shorten_text
from handler.exceptions import error_for
from handler.gateway import route_path
from handler.headers import JSON_HEADERS
from handler.kserve.codec import is_v2
from handler.limits import MAX_ECHO_CHARS
from handler.observability import record_validation_error


class BodyGuard:
    """Pure ASGI middleware for the routes that take a JSON body: refuses oversized bodies while
    reading them, and bodies of any other type. Other requests go on to routing (404, 405)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, json_routes: Sequence[re.Pattern[str]]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.json_routes = json_routes  # the POST routes' path patterns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        if scope["type"] != "http" or scope["method"] != "POST" or not any(r.match(path) for r in self.json_routes):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        # Open Inference Protocol clients (tritonclient among them) send JSON without a content type.
        untyped_v2 = not media_type and is_v2(path)
        if media_type != "application/json" and not media_type.endswith("+json") and not untyped_v2:
            record_validation_error("content_type")
            shown = shorten_text(media_type, MAX_ECHO_CHARS) or "none"
            detail = f"content type {shown!r} is not supported; send application/json"
            await error_for(path, 415, detail)(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(int(declared), scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(size, scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, size: int, scope: Scope, receive: Receive, send: Send) -> None:
        record_validation_error("body_size")
        detail = (
            f"request body of {size}+ bytes exceeds the limit of {self.max_body_bytes} bytes; "
            "send fewer instances per batch"
        )
        await error_for(route_path(scope), 413, detail)(scope, receive, send)


class JsonHeaders:
    """Every JSON answer, errors included, is not to be cached or sniffed as another type."""

    HEADERS = tuple((k.encode(), v.encode()) for k, v in JSON_HEADERS.items() if k != "content-type")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"application/json"):
                    present = {k.lower() for k, _ in headers}
                    headers += [(k, v) for k, v in self.HEADERS if k not in present]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
