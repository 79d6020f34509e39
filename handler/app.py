"""The FastAPI app: wiring only. Routes live in `handler.routes` and `handler.kserve` (V2 and V1), error
mapping in `handler.exceptions`, the maths in `model`."""

from functools import cache, partial

from fastapi import FastAPI
from fastapi.routing import APIRoute

from handler import exceptions, kserve, routes
from handler.deps import AppState
from handler.kserve import codec
from handler.limits import (
    LARGEST_BATCH,
    MAX_ANSWER_BYTES,
    largest_batch,
    largest_case_batch,
    largest_record_answer,
)
from handler.middleware import BodyGuard, JsonHeaders
from handler.openapi import ClassifierAPI, ErrorDocs
from handler.page import Page
from handler.settings import Settings, SettingsError
from model.drift import DriftWindow
from model.predictor import Predictor
from model.schema import DISCLAIMER


def check_batch_limit(settings: Settings, predictor: Predictor) -> None:
    """Refuse a MAX_BATCH_SIZE whose largest answer could pass MAX_ANSWER_BYTES."""
    largest = min(largest_batch(predictor), LARGEST_BATCH)
    if settings.max_batch_size > largest:
        raise SettingsError(
            f"MAX_BATCH_SIZE={settings.max_batch_size} could make an answer larger than {MAX_ANSWER_BYTES} bytes "
            f"(one explained record with every warning takes up to {largest_record_answer(predictor)} bytes); "
            f"the largest allowed with this model is {largest}"
        )


def app_state(settings: Settings, predictor: Predictor) -> AppState:
    """What the routes use, built at init."""
    window = DriftWindow(predictor.artifact.arrays, settings.drift_window, max(1, settings.drift_window // 10))
    return AppState(
        settings,
        predictor,
        page=cache(partial(Page, predictor)),
        card=cache(predictor.card),
        window=window,
        case_batch_limit=cache(partial(largest_case_batch, predictor)),
    )


def create_app(settings: Settings, predictor: Predictor) -> FastAPI:
    """The app for these settings and this model; SettingsError if they cannot work together."""
    check_batch_limit(settings, predictor)
    app = ClassifierAPI(
        manifest=predictor.manifest,
        max_batch_size=settings.max_batch_size,
        extra_models=(kserve.v2.InferenceRequest,),
        protocols=(ErrorDocs(codec.is_kserve, codec.ERROR_STATUSES, "ErrorOut"),),
        title="WDBC breast-tumour classifier",
        version=predictor.version,
        description=(
            f"**{DISCLAIMER}**\n\nCalibrated probability of malignancy from the 30 WDBC nuclear features, "
            "with an operating point, a conformal prediction set, an out-of-distribution check and, on request, "
            f"exact per-feature Shapley values in log-odds. Batches hold at most {settings.max_batch_size} records; "
            f"bodies at most {settings.max_body_bytes} bytes."
        ),
        openapi_url=None,  # served by handler.routes, with the server it is reached through
        docs_url=None,  # served by handler.routes from the function itself
        redoc_url=None,
    )
    app.state.app_state = app_state(settings, predictor)
    exceptions.install(app)
    # The routers' routes go onto the app's route list as they were built (Starlette's Router.routes):
    # FastAPI 0.165's include_router wraps each router in one entry built again on its first request, so
    # the app would not list its POST routes for BodyGuard below, and the first request would cost 3 ms
    # more (measured in process: 5.2 ms against 2.3). Inclusion adds nothing ours need (no prefix,
    # dependency or response).
    app.router.routes.extend([*routes.router.routes, *kserve.routes()])
    json_routes = [
        route.path_regex
        for route in app.router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    ]
    app.add_middleware(BodyGuard, max_body_bytes=settings.max_body_bytes, json_routes=json_routes)
    app.add_middleware(JsonHeaders)
    if settings.cors_origins:  # outermost, so that 413 and 415 answers carry CORS headers too
        from fastapi.middleware.cors import CORSMiddleware  # only imported (at init) when configured

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    return app
