"""Schemathesis hooks: the one input rule that JSON Schema cannot state.

Each `*_worst` must be >= its `*_mean` (the worst value is the mean of the three largest), a
relation between two fields that the OpenAPI document can only describe in words. Generated records
whose two numbers are otherwise valid get `worst = max(worst, mean)`, so that "schema-valid" data is
valid; everything else (negative numbers, wrong types, missing fields) is sent as generated.
"""

from __future__ import annotations

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


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Runs for every phase's cases (examples, coverage, fuzzing) just before the request is sent."""
    body = case.body
    if isinstance(body, dict):
        _respect_worst_at_least_mean(body.get("features"))
        instances = body.get("instances")
        if isinstance(instances, list):
            for record in instances:
                _respect_worst_at_least_mean(record)
