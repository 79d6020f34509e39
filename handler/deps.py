"""What every route module shares: the app's state, the strict JSON route, and the one path to the predictor."""

import json
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute

from handler.errors import shorten_text
from handler.limits import MAX_ECHO_CHARS
from handler.observability import record_predictions
from handler.page import Page
from handler.settings import Settings
from model.arrays import FloatArray
from model.drift import DriftWindow
from model.predictor import CaseOptions, Predictions, Predictor


class AppState(NamedTuple):
    """What the routes use, kept on the app's state; what only one route uses is built on its first request."""

    settings: Settings
    predictor: Predictor
    page: Callable[[], Page]  # GET /
    card: Callable[[], dict[str, Any]]  # GET /model
    window: DriftWindow
    case_batch_limit: Callable[[], int]  # records of a batch asking for counterfactuals or similar cases


def state_of(request: Request) -> AppState:
    """The app's AppState, for routes that take the request itself."""
    state: AppState = request.app.state.app_state
    return state


async def app_state(request: Request) -> AppState:
    """The app's AppState (an async dependency: a sync one would cost a thread hop per request)."""
    return state_of(request)


StateDep = Annotated[AppState, Depends(app_state)]


class Asked(NamedTuple):
    """What a request asks of the predictor besides its rows."""

    operating_point: str
    alpha: float
    explain: bool
    cases: CaseOptions = CaseOptions()


def predict(state: AppState, x: FloatArray, asked: Asked, field_prefix: str) -> Predictions:
    """The predictor's answer to what was asked, counted nowhere (the OpenAPI document's examples use it)."""
    predictions = state.predictor.predict(
        x, asked.operating_point, asked.alpha, explain=asked.explain, field_prefix=field_prefix
    )
    if asked.cases.counterfactual_features or asked.cases.similar:
        predictions = state.predictor.with_cases(predictions, asked.cases)
    return predictions


def predictions_for(state: AppState, x: FloatArray, asked: Asked, field_prefix: str) -> Predictions:
    """Every route's call of the predictor: timed the same way for all, and counted in the drift window."""
    started = time.perf_counter()
    predictions = predict(state, x, asked, field_prefix)
    record_predictions(predictions, (time.perf_counter() - started) * 1e3, state.window)
    return predictions


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise json.JSONDecodeError(f"duplicate key {shorten_text(key, MAX_ECHO_CHARS)!r}", "", 0)
        seen[key] = value
    return seen


class StrictJSONRequest(Request):
    """A request whose JSON body may not repeat a key: which value would count is ambiguous."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=no_duplicate_keys)
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await original(StrictJSONRequest(request.scope, request.receive))

        return handler
