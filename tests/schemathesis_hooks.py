"""Schemathesis hooks: the rules JSON Schema cannot state, and what SAM local cannot carry.

The OpenAPI document lists the rules between fields (`x-cross-field-rules`, from `model.rules` and
`handler.kserve.v2`); a stranger's run reports their refusals (tests/test_api_document.py). Here, where every
check must pass, generated data that breaks one is repaired before it is sent: each `*_worst` below
its `*_mean` in any record (Features objects, V1 instances, V2 rows) is raised to the mean, and a
positive V2 request's inputs become one [n, 30] tensor whose shape matches its data, and a positive
POST /features request's outlines and image the synthetic demo's. Everything else
(negative numbers, wrong types, missing fields) is sent as generated.

Behind `sam local start-api` (SCHEMATHESIS_BEHIND_SAM_LOCAL=1), two kinds of request never reach the
function, because the SAM CLI's gateway answers them itself where API Gateway would pass them on
(tests/test_sam_local.py pins both answers): a body that is not UTF-8 (502, SAM's UnicodeDecodeError;
API Gateway sends it base64-encoded) and a path parameter with a control character (403, no route
matched). There, invalid bytes become U+FFFD and control characters "_": still malformed, still sent.
"""

from __future__ import annotations

import base64
import os
import re
from itertools import chain
from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

from model.demo_image import demo
from model.rules import CROSS_FIELD_RULES
from model.schema import INDEX, N_FEATURES

PAIRS = [(rule.at_least, rule.field) for rule in CROSS_FIELD_RULES]
DEMO = demo()
DEMO_IMAGE = {
    "width": DEMO.pixels.shape[1],
    "height": DEMO.pixels.shape[0],
    "pixels": base64.b64encode(DEMO.pixels.tobytes()).decode(),
}


def _real_outlines(body: dict[str, Any]) -> None:
    """A positive POST /features request's outlines and image become the synthetic demo's (the outline rules of
    model.features.RULES: simple polygons of 3 or more points inside the image, a buffer of width x height)."""
    body["outlines"] = DEMO.outlines
    if isinstance(body.get("image"), dict):
        body["image"] = dict(DEMO_IMAGE)


def _valid_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _respect_record(record: Any) -> None:
    """A record by name (dict) or in schema order (list of 30)."""
    if isinstance(record, dict):
        keys = PAIRS
    elif isinstance(record, list) and len(record) == N_FEATURES:
        keys = [(INDEX[low], INDEX[high]) for low, high in PAIRS]
    else:
        return
    for low, high in keys:
        if _valid_number(record[low] if isinstance(record, list) else record.get(low)) and _valid_number(
            record[high] if isinstance(record, list) else record.get(high)
        ):
            record[high] = max(record[high], record[low])


def _one_tensor(body: dict[str, Any]) -> None:
    """A positive V2 request's inputs as one [n, 30] tensor of its own numbers (rules shape_matches_data and
    one_tensor_or_named_columns), n at most 2."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs or not isinstance(inputs[0], dict):
        return
    tensor = inputs[0]
    data = tensor.get("data") if isinstance(tensor.get("data"), list) else []
    numbers = [v for v in chain.from_iterable(v if isinstance(v, list) else [v] for v in data) if _valid_number(v)]
    numbers = (numbers or [1.0]) * (N_FEATURES // max(1, len(numbers)) + 1)
    rows = [numbers[i : i + N_FEATURES] for i in range(0, len(numbers) - N_FEATURES + 1, N_FEATURES)][:2]
    tensor.update(data=rows, shape=[len(rows), N_FEATURES])
    body["inputs"] = [tensor]
    if isinstance(body.get("parameters"), dict) and body["parameters"].get("content_type") == "pd":
        body["parameters"]["content_type"] = "np"
    for row in rows:
        _respect_record(row)


BEHIND_SAM_LOCAL = os.environ.get("SCHEMATHESIS_BEHIND_SAM_LOCAL") == "1"
# Path parameters arrive percent-encoded: a control character is also %00 to %1F or %7F.
CONTROL = re.compile(r"[\x00-\x1f\x7f]|%[01][0-9A-Fa-f]|%7[Ff]")


def _as_sam_local_carries(case: Any) -> None:
    if isinstance(case.body, bytes):
        case.body = case.body.decode("utf-8", "replace").encode()
    if isinstance(case.path_parameters, dict):
        case.path_parameters = {
            key: CONTROL.sub("_", value) if isinstance(value, str) else value
            for key, value in case.path_parameters.items()
        }


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Runs for every phase's cases (examples, coverage, fuzzing) just before the request is sent."""
    if BEHIND_SAM_LOCAL:
        _as_sam_local_carries(case)
    body = case.body
    if not isinstance(body, dict):
        return
    if "inputs" in body and case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE:
        _one_tensor(body)
    if "outlines" in body and case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE:
        _real_outlines(body)
    _respect_record(body.get("features"))
    instances = body.get("instances")
    if isinstance(instances, list):
        for record in instances:
            _respect_record(record)
        # A batch asking for counterfactuals or similar cases holds few records (rule case_batch_size): one is
        # within every limit
        positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
        if positive and (body.get("counterfactual") or body.get("similar_cases")):
            del instances[1:]
