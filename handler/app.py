"""The FastAPI app: routes, schemas and wiring only; the maths lives in `model`."""

import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

import numpy as np
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from handler import errors
from handler.middleware import BodyGuard
from handler.observability import logger, record_latency, record_predictions
from handler.page import Page
from handler.schemas import BatchResponse, ErrorResponse, Health, PredictResponse, request_models
from handler.settings import Settings
from model.predictor import Prediction, Predictor
from model.rules import check_rows
from model.schema import DISCLAIMER, FEATURE_NAMES

ERROR_STATUSES = {
    400: "malformed JSON",
    404: "no such route",
    405: "method not allowed on this route",
    413: "body over the size limit (checked before parsing)",
    415: "content type other than application/json",
    422: "validation failed: each violation names the field, the rule and the value",
}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise json.JSONDecodeError(f"duplicate key {key!r}", "", 0)
        seen[key] = value
    return seen


class StrictJSONRequest(Request):
    """A request whose JSON body may not repeat a key: which value would count is ambiguous."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=_no_duplicate_keys)
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await original(StrictJSONRequest(request.scope, request.receive))

        return handler


def _rows(records: list[BaseModel], prefix: str) -> np.ndarray:
    """Validated records -> rows in model order, after the cross-field rule (worst >= mean)."""
    x = np.array([[getattr(r, name) for name in FEATURE_NAMES] for r in records], dtype=np.float64)
    check_rows(x, prefix)
    return x


def create_app(settings: Settings, predictor: Predictor) -> FastAPI:
    models = request_models(predictor, settings.max_batch_size)
    version = predictor.version
    error_docs: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": text} for status, text in ERROR_STATUSES.items()
    }
    app = FastAPI(
        title="WDBC breast-tumour classifier",
        version=version,
        description=(
            f"**{DISCLAIMER}**\n\nCalibrated probability of malignancy from the 30 WDBC nuclear features, "
            "with an operating point, a conformal prediction set, an out-of-distribution check and, on request, "
            f"exact per-feature Shapley values in log-odds. Batches hold at most {settings.max_batch_size} records; "
            f"bodies at most {settings.max_body_bytes} bytes."
        ),
        responses=error_docs,
    )
    app.router.route_class = StrictJSONRoute
    errors.install(app)

    def respond(predictions: list[Prediction], started: float) -> None:
        labels = [p.label for p in predictions]
        record_predictions(
            benign=labels.count("benign"),
            malignant=labels.count("malignant"),
            indeterminate=sum(p.indeterminate for p in predictions),
            out_of_distribution=sum(p.out_of_distribution for p in predictions),
        )
        elapsed = (time.perf_counter() - started) * 1e3
        record_latency(elapsed)
        logger.info("predictions served", extra={"count": len(predictions), "latency_ms": round(elapsed, 3)})

    predict_model, batch_model = models.predict, models.batch

    @app.post("/predict", response_model=PredictResponse, summary="Classify one record")
    async def predict(body: predict_model) -> JSONResponse:  # type: ignore[valid-type]
        started = time.perf_counter()
        x = _rows([body.features], "features.")  # type: ignore[attr-defined]
        [p] = predictor.predict(
            x,
            operating_point=body.operating_point,  # type: ignore[attr-defined]
            alpha=body.alpha,  # type: ignore[attr-defined]
            explain=body.explain,  # type: ignore[attr-defined]
        )
        respond([p], started)
        return JSONResponse({**p.as_dict(), "model_version": version, "disclaimer": DISCLAIMER})

    @app.post("/predict/batch", response_model=BatchResponse, summary="Classify a batch of records")
    async def predict_batch(body: batch_model) -> JSONResponse:  # type: ignore[valid-type]
        started = time.perf_counter()
        x = _rows(body.instances, "instances.{i}.")  # type: ignore[attr-defined]
        predictions = predictor.predict(
            x,
            operating_point=body.operating_point,  # type: ignore[attr-defined]
            alpha=body.alpha,  # type: ignore[attr-defined]
            explain=body.explain,  # type: ignore[attr-defined]
        )
        respond(predictions, started)
        return JSONResponse(
            {
                "predictions": [p.as_dict() for p in predictions],
                "count": len(predictions),
                "model_version": version,
                "disclaimer": DISCLAIMER,
            }
        )

    @app.get("/health", response_model=Health, summary="Liveness and model version")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model_loaded": True, "model_version": version, "disclaimer": DISCLAIMER}

    card = predictor.card()
    page = Page(predictor)
    page_headers = {
        "content-security-policy": page.csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
    }

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page.render(str(request.scope.get("root_path", ""))), headers=page_headers)

    @app.get("/model", summary="The model card and feature schema")
    async def model_card() -> dict[str, Any]:
        return card

    json_routes = frozenset(
        ("POST", route.path) for route in app.routes if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    )
    app.add_middleware(BodyGuard, max_body_bytes=settings.max_body_bytes, json_routes=json_routes)
    if settings.cors_origins:  # outermost, so that 413 and 415 answers carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    return app
