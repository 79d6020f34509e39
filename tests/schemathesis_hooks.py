"""Schemathesis hooks: the one input rule that JSON Schema cannot state, and what SAM local cannot carry.

Each `*_worst` must be >= its `*_mean` (the worst value is the mean of the three largest), a
relation between two fields that the OpenAPI document can only describe in words. Generated records
whose two numbers are otherwise valid get `worst = max(worst, mean)`, so that "schema-valid" data is
valid; everything else (negative numbers, wrong types, missing fields) is sent as generated.

Behind `sam local start-api` (SCHEMATHESIS_BEHIND_SAM_LOCAL=1), two kinds of request never reach the
function, because the SAM CLI's gateway answers them itself where API Gateway would pass them on
(tests/test_sam_local.py pins both answers): a body that is not UTF-8 (502, SAM's UnicodeDecodeError;
API Gateway sends it base64-encoded) and a path parameter with a control character (403, no route
matched). There, invalid bytes become U+FFFD and control characters "_": still malformed, still sent.
"""

from __future__ import annotations

import os
import re
from typing import Any

import schemathesis

from model.schema import FEATURE_NAMES, WORST_OF_MEAN


def _valid_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _respect_worst_at_least_mean(record: Any) -> None:
    if not isinstance(record, dict):
        return
    for mean_i, worst_i in WORST_OF_MEAN:
        mean, worst = FEATURE_NAMES[mean_i], FEATURE_NAMES[worst_i]
        if _valid_number(record.get(mean)) and _valid_number(record.get(worst)) and record[worst] < record[mean]:
            record[worst] = record[mean]


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
    if isinstance(body, dict):
        _respect_worst_at_least_mean(body.get("features"))
        instances = body.get("instances")
        if isinstance(instances, list):
            for record in instances:
                _respect_worst_at_least_mean(record)
