"""The routes. Each prediction route takes the same path to the predictor; none does maths of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute

from handler import docs
from handler.errors import error_response, shorten_text
from handler.limits import MAX_ECHO_CHARS
from handler.observability import record_served, record_validation_error
from handler.page import Page
from handler.schemas import BatchRequest, BatchResponse, FeatureRecord, Health, Options, PredictRequest, PredictResponse
from handler.settings import Settings
from model.drift import DriftWindow
from model.errors import Violation
from model.predictor import Prediction, Predictor
from model.schema import DISCLAIMER, FEATURE_NAMES


@dataclass(frozen=True)
class Served:
    """What the routes serve, built once at init and kept on the app's state."""

    settings: Settings
    predictor: Predictor
    page: Page
    card: dict[str, Any]
    window: DriftWindow


async def served(request: Request) -> Served:
    """The app's Served (an async dependency: a sync one would cost a thread hop per request)."""
    state: Served = request.app.state.served
    return state


ServedDep = Annotated[Served, Depends(served)]


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


router = APIRouter(route_class=StrictJSONRoute)


def _predict(state: Served, records: Sequence[FeatureRecord], options: Options, field_prefix: str) -> list[Prediction]:
    started = time.perf_counter()
    x = np.array([[getattr(r, name) for name in FEATURE_NAMES] for r in records], dtype=np.float64)
    predictions = state.predictor.predict(
        x,
        operating_point=options.operating_point,
        alpha=options.alpha,
        explain=options.explain,
        field_prefix=field_prefix,
    )
    record_served(x, predictions, (time.perf_counter() - started) * 1e3, state.window)
    return predictions


@router.post(
    "/predict",
    summary="Classify one record",
    response_class=JSONResponse,
    responses={200: {"model": PredictResponse, "description": "Successful Response"}},
)
async def predict(body: PredictRequest, state: ServedDep) -> JSONResponse:
    [p] = _predict(state, [body.features], body, "features.")
    return JSONResponse({**p.as_dict(), "model_version": state.predictor.version, "disclaimer": DISCLAIMER})


@router.post(
    "/predict/batch",
    summary="Classify a batch of records",
    response_class=JSONResponse,
    responses={200: {"model": BatchResponse, "description": "Successful Response"}},
)
async def predict_batch(body: BatchRequest, state: ServedDep) -> JSONResponse:
    limit, count = state.settings.max_batch_size, len(body.instances)
    if count > limit:
        message = f"instances: expected 1 to {limit} records, got {count}; send the rest in further batches"
        record_validation_error("batch_size")
        return error_response(422, message, [Violation("instances", "batch_size", count, message)])
    predictions = _predict(state, body.instances, body, "instances.{i}.")
    return JSONResponse(
        {
            "predictions": [p.as_dict() for p in predictions],
            "count": len(predictions),
            "model_version": state.predictor.version,
            "disclaimer": DISCLAIMER,
        }
    )


@router.get("/health", response_model=Health, summary="Liveness and model version")
async def health(state: ServedDep) -> Health:
    return Health(status="ok", model_loaded=True, model_version=state.predictor.version)


@router.get("/model", summary="The model card and feature schema")
async def model_card(state: ServedDep) -> dict[str, Any]:
    return state.card


@router.get("/", include_in_schema=False)
async def index(request: Request, state: ServedDep) -> HTMLResponse:
    page = state.page
    return HTMLResponse(page.render(str(request.scope.get("root_path", ""))), headers=page.headers)


@router.get("/docs", include_in_schema=False)
async def docs_page(request: Request) -> HTMLResponse:
    title = "WDBC breast-tumour classifier"
    return HTMLResponse(docs.page(str(request.scope.get("root_path", "")), title), headers=docs.PAGE_HEADERS)


@router.get("/docs/assets/{asset}", include_in_schema=False)
async def docs_asset(asset: str) -> Response:
    found = docs.asset(asset)
    if found is None:
        message = f"no such asset {shorten_text(asset, MAX_ECHO_CHARS)!r}; the assets are {sorted(docs.ASSETS)}"
        return error_response(404, message)
    content, media_type = found
    return Response(content, media_type=media_type, headers=docs.ASSET_HEADERS)
