"""Baseline for the benchmarks: FastAPI + Mangum + Powertools serving the joblib scikit-learn pipeline.

It is what the function would be without the numpy-only export: same routes' shape, same training
output (pipeline.joblib from the same artifact), scikit-learn and scipy loaded at init.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel, create_model

from model.schema import FEATURE_NAMES

logger = Logger(service="baseline")
metrics = Metrics(namespace="Baseline", service="baseline")
pipeline = joblib.load(Path(os.environ.get("MODEL_DIR", "/opt/model")) / "pipeline.joblib")
Features = create_model("Features", **{name: (float, ...) for name in FEATURE_NAMES})  # type: ignore[call-overload]
Request = create_model("Request", features=(Features, ...))
app = FastAPI()


@app.post("/predict")
def predict(body: Request) -> dict[str, Any]:  # type: ignore[valid-type]
    features: BaseModel = body.features  # type: ignore[attr-defined]
    x = np.array([[getattr(features, name) for name in FEATURE_NAMES]])
    p = float(pipeline.predict_proba(x)[0, 1])
    return {"label": "malignant" if p >= 0.5 else "benign", "probability_malignant": p}


asgi = Mangum(app, lifespan="off")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asgi(event, context)  # type: ignore[arg-type]
