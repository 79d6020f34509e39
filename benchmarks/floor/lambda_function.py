"""The import floor: numpy, FastAPI, Mangum and Powertools (Logger, Metrics) with one route; no model, no work.

No function built on this stack can cold-start faster; `make bench` runs it beside ours, from the
same dependencies layer, so that what our init adds to the floor is measured in the same run. It
pauses the cyclic collector for init as ours does (handler/__init__.py), so that the ratio compares
the work of init alone.
"""

from __future__ import annotations

import gc

gc.disable()

from typing import Any  # noqa: E402 - the collector is paused before the imports it would slow

import numpy as np  # noqa: E402
from aws_lambda_powertools import Logger, Metrics  # noqa: E402
from aws_lambda_powertools.utilities.typing import LambdaContext  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from mangum import Mangum  # noqa: E402

logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")
app = FastAPI()


@app.post("/predict")
async def predict() -> dict[str, Any]:
    return {"numpy": np.__version__}


asgi = Mangum(app, lifespan="off")
gc.freeze()
gc.enable()


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asgi(event, context)  # type: ignore[arg-type]
