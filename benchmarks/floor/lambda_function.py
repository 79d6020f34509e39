"""The import floor: numpy, FastAPI, Mangum and Powertools (Logger, Metrics) with one route; no model, no work.

No function built on this stack can cold-start faster; `make bench` runs it beside ours, from the
same dependencies layer, so that what our init adds to the floor is measured in the same run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum import Mangum

logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")
app = FastAPI()


@app.post("/predict")
async def predict() -> dict[str, Any]:
    return {"numpy": np.__version__}


asgi = Mangum(app, lifespan="off")


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asgi(event, context)  # type: ignore[arg-type]
