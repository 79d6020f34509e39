"""Routes built on the first request that needs them, rather than at init.

The Open Inference Protocol's and KServe V1's twelve routes cost the cold start a few milliseconds to
build (FastAPI analyses every endpoint), and most invocations never call them. A LazyRoutes stands in
the app's route list for every path under its prefixes: on the first request there, it builds them and
matches among them; `splice` puts them in the list itself (the OpenAPI document does, when first asked
for), after which this stand-in is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound, Router
from starlette.types import Receive, Scope, Send

from handler.gateway import route_path

SCOPE_KEY = "wdbc.lazy_route"


class LazyRoutes(BaseRoute):
    def __init__(self, prefixes: Sequence[str], build: Callable[[], Sequence[BaseRoute]]) -> None:
        self.prefixes, self._build = tuple(prefixes), build
        self._routes: list[BaseRoute] | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        if self._routes is None:
            self._routes = list(self._build())
        return self._routes

    def _mine(self, scope: Scope) -> bool:
        path = route_path(scope)
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not self._mine(scope):
            return Match.NONE, {}
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return Match.FULL, {**child, SCOPE_KEY: route}
            if match == Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:
            return Match.PARTIAL, {**partial[1], SCOPE_KEY: partial[0]}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope[SCOPE_KEY]
        await route.handle(scope, receive, send)

    def splice(self, router: Router) -> None:
        """Replace this stand-in in `router.routes` by the routes it stands for."""
        if self in router.routes:
            at = router.routes.index(self)
            router.routes[at : at + 1] = self.routes
