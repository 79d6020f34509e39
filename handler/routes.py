"""The routes. Each prediction route takes the same path to the predictor; none does maths of its own."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from handler import docs
from handler.answers import batch_answer, health_answer, record_answer
from handler.deps import AppState, Asked, StateDep, StrictJSONRoute, predictions_for
from handler.errors import error_response, shorten_text
from handler.limits import MAX_ECHO_CHARS, counterfactual_batch
from handler.observability import record_validation_error
from handler.openapi import success
from handler.schemas import BatchRequest, FeatureRecord, FeaturesRequest, Options, PredictRequest
from model.errors import Violation
from model.predictor import Predictions
from model.schema import FEATURE_NAMES

router = APIRouter(route_class=StrictJSONRoute)
SERVER = "this deployment: its API Gateway stage, or the local server"


def rows_and_options(records: Sequence[FeatureRecord], options: Options) -> tuple[np.ndarray, Asked]:
    """A validated body's records as rows (n, 30) in schema order, and what it asks of the predictor."""
    x = np.array([[getattr(r, name) for name in FEATURE_NAMES] for r in records], dtype=np.float64)
    return x, Asked(options.operating_point, options.alpha, options.explain, options.cases())


def _predict(state: AppState, records: Sequence[FeatureRecord], options: Options, field_prefix: str) -> Predictions:
    return predictions_for(state, *rows_and_options(records, options), field_prefix)


@router.post(
    "/predict",
    summary="Classify one record",
    response_class=JSONResponse,
    openapi_extra=success("PredictResponse"),
)
async def predict(body: PredictRequest, state: StateDep) -> JSONResponse:
    return JSONResponse(record_answer(_predict(state, [body.features], body, "features."), state.predictor.version))


@router.post(
    "/predict/batch",
    summary="Classify a batch of records",
    response_class=JSONResponse,
    openapi_extra=success("BatchResponse"),
)
async def predict_batch(body: BatchRequest, state: StateDep) -> JSONResponse:
    limit, count = state.settings.max_batch_size, len(body.instances)
    if count > limit:
        message = f"instances: expected 1 to {limit} records, got {count}; send the rest in further batches"
        record_validation_error("batch_size")
        return error_response(422, message, [Violation("instances", "batch_size", count, message)])
    case_limit = state.case_batch_limit()
    if body.counterfactual:
        case_limit = counterfactual_batch(case_limit, body.counterfactual_features)
    if (body.counterfactual or body.similar_cases) and count > case_limit:
        asked = f"counterfactuals of up to {body.counterfactual_features} features" if body.counterfactual else ""
        message = (
            f"instances: {asked or 'similar cases'} are given for 1 to {case_limit} records per batch, got {count}; "
            "ask for them in smaller batches"
        )
        record_validation_error("case_batch_size")
        return error_response(422, message, [Violation("instances", "case_batch_size", count, message)])
    predictions = _predict(state, body.instances, body, "instances.{i}.")
    return JSONResponse(batch_answer(predictions, state.predictor.version))


@router.post(
    "/features",
    summary="The WDBC features from nuclear outlines: an exploration with documented conventions",
    response_class=JSONResponse,
    openapi_extra=success("FeaturesResponse"),
)
async def features(body: FeaturesRequest, state: StateDep) -> JSONResponse:
    from handler import outlines  # the extractor: imported on the first request for it, not at init

    return JSONResponse(outlines.answer(body, state.predictor.version))


@router.get(
    "/features/demo",
    summary="A synthetic demo image with its outlines, for trying POST /features",
    response_model=None,
    openapi_extra=success("FeaturesDemo"),
)
async def features_demo(state: StateDep) -> JSONResponse:
    from handler import outlines  # imported on the first request for it, not at init

    return JSONResponse(outlines.demo_answer(state.predictor.version), headers={"cache-control": "max-age=86400"})


@router.get("/health", summary="Liveness and model version", response_model=None, openapi_extra=success("Health"))
async def health(state: StateDep) -> dict[str, Any]:
    return health_answer(state.predictor.version)


@router.get("/model", summary="The model card and feature schema")
async def model_card(state: StateDep) -> dict[str, Any]:
    return state.card()


@router.get("/", include_in_schema=False)
async def index(request: Request, state: StateDep) -> HTMLResponse:
    page = state.page()
    return HTMLResponse(page.render(str(request.scope.get("root_path", ""))), headers=page.headers)


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    """The document, with the one server it is reached through: the API Gateway stage's prefix, or the root."""
    document = request.app.openapi()
    root = str(request.scope.get("root_path", "")).rstrip("/")
    head = {k: document[k] for k in ("openapi", "info")}
    rest = {k: v for k, v in document.items() if k not in head}
    return JSONResponse({**head, "servers": [{"url": root or "/", "description": SERVER}], **rest})


@router.get("/docs", include_in_schema=False)
async def docs_page(request: Request) -> HTMLResponse:
    title = "WDBC breast-tumour classifier"
    return HTMLResponse(docs.page(str(request.scope.get("root_path", "")), title), headers=docs.PAGE_HEADERS)


@router.get("/docs/assets/{asset}", include_in_schema=False)
async def docs_asset(request: Request) -> Response:
    asset = request.path_params["asset"]  # read here: a declared parameter costs the cold start its schema
    found = docs.asset(asset)
    if found is None:
        message = f"no such asset {shorten_text(asset, MAX_ECHO_CHARS)!r}; the assets are {sorted(docs.ASSETS)}"
        return error_response(404, message)
    content, media_type = found
    return Response(content, media_type=media_type, headers=docs.ASSET_HEADERS)
