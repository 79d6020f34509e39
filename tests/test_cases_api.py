"""Counterfactuals and similar cases through the function: options, limits, sizes, the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from handler.limits import (
    MAX_CASE_RECORDS,
    counterfactual_batch,
    envelope_bytes,
    largest_case_batch,
    largest_record_answer,
)
from local.events import event
from model.predictor import Predictor
from tests.support import Answer

Invoke = Callable[[dict[str, Any]], Answer]


def _size(answer: Answer) -> int:
    return len(json.dumps(answer.body, separators=(",", ":")).encode())


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_predict_carries_the_counterfactual_and_similar_cases_asked_for(
    invoke: Invoke, examples: dict[str, dict[str, float]], predictor: Predictor, version: str
) -> None:
    body = {"features": examples["benign"], "counterfactual": True, "counterfactual_features": 4, "similar_cases": 10}
    answer = invoke(event(version, "POST", "/predict", body))
    assert answer.status == 200, answer.body
    counterfactual, similar = answer.body["counterfactual"], answer.body["similar_cases"]
    assert counterfactual["found"] and counterfactual["label"] == "malignant" and counterfactual["max_features"] == 4
    assert 1 <= len(counterfactual["changes"]) <= 4
    assert counterfactual["statement"].startswith("the model would answer malignant if ")
    assert len(similar["cases"]) == 10 and len(similar["cases"][0]["features"]) == 30
    assert similar["agreeing"] == sum(c["diagnosis"] == "benign" for c in similar["cases"])
    assert similar["record_is_training_case"] and similar["cases"][0]["distance"] == 0.0
    # AND the answer stays within what init computed for the largest record with cases
    assert _size(answer) <= largest_record_answer(predictor, with_cases=True) + envelope_bytes(predictor.version)
    # AND without asking, both are null
    plain = invoke(event(version, "POST", "/predict", {"features": examples["benign"]})).body
    assert plain["counterfactual"] is None and plain["similar_cases"] is None


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        ({"similar_cases": 11}, "similar_cases", "less_than_equal"),
        # a count's bounds are not the features' rule: "non_negative" speaks of values measured on an image
        ({"similar_cases": -1}, "similar_cases", "greater_than_equal"),
        ({"counterfactual": True, "counterfactual_features": 0}, "counterfactual_features", "greater_than_equal"),
        ({"similar_cases": "3"}, "similar_cases", "int_type"),
        ({"similar_cases": 2.5}, "similar_cases", "int_type"),
        ({"similar_cases": True}, "similar_cases", "int_type"),
        ({"counterfactual": True, "counterfactual_features": 6}, "counterfactual_features", "less_than_equal"),
        ({"counterfactual": "yes"}, "counterfactual", "type"),
    ],
)
def test_bad_case_options_name_the_field_and_the_rule(
    invoke: Invoke, examples: dict[str, dict[str, float]], options: dict[str, Any], field: str, rule: str
) -> None:
    answer = invoke(event("v2", "POST", "/predict", {"features": examples["benign"], **options}))
    assert answer.status == 422
    [violation] = answer.body["error"]["violations"]
    assert (violation["field"], violation["rule"]) == (field, rule)
    assert "image" not in violation["message"]


def test_a_whole_number_written_as_a_float_is_a_count(invoke: Invoke, examples: dict[str, dict[str, float]]) -> None:
    answer = invoke(event("v2", "POST", "/predict", {"features": examples["benign"], "similar_cases": 3.0}))
    assert answer.status == 200 and len(answer.body["similar_cases"]["cases"]) == 3


def test_batches_with_cases_are_bounded(
    invoke: Invoke, examples: dict[str, dict[str, float]], predictor: Predictor
) -> None:
    limit = largest_case_batch(predictor)
    assert limit == MAX_CASE_RECORDS  # the size bound allows more: the time bound decides
    records = [examples["benign"], examples["malignant"]] * (limit // 2)
    options = {"counterfactual": True, "similar_cases": 10}
    full = invoke(event("v2", "POST", "/predict/batch", {"instances": records, **options}))
    assert full.status == 200 and full.body["count"] == limit
    bound = envelope_bytes(predictor.version) + limit * largest_record_answer(predictor, with_cases=True)
    assert _size(full) <= bound
    over = invoke(event("v2", "POST", "/predict/batch", {"instances": [*records, records[0]], "similar_cases": 1}))
    assert over.status == 422
    [violation] = over.body["error"]["violations"]
    assert (violation["field"], violation["rule"], violation["value"]) == ("instances", "case_batch_size", limit + 1)
    # AND without cases, the same batch is a plain one
    assert invoke(event("v2", "POST", "/predict/batch", {"instances": [*records, records[0]]})).status == 200


def test_the_openapi_document_describes_the_options_and_fields(lambda_module: ModuleType, invoke: Invoke) -> None:
    document = invoke(event("v2", "GET", "/openapi.json", content_type=None)).body
    schemas = document["components"]["schemas"]
    request = schemas["PredictRequest"]["properties"]
    assert request["similar_cases"]["maximum"] == 10 and request["counterfactual_features"]["maximum"] == 5
    assert "not about a patient" in request["counterfactual"]["description"]
    answer = schemas["PredictResponse"]["properties"]
    assert {"counterfactual", "similar_cases"} <= set(answer)
    assert set(schemas["ChangeOut"]["properties"]) == {"feature", "from", "to"}


@pytest.mark.parametrize(("features", "limit"), [(3, 50), (4, 7), (5, 1)])
def test_counterfactual_batches_shrink_as_the_search_grows(
    invoke: Invoke, examples: dict[str, dict[str, float]], features: int, limit: int
) -> None:
    assert counterfactual_batch(10**6, features) == limit
    options = {"counterfactual": True, "counterfactual_features": features}
    ok = invoke(event("v2", "POST", "/predict/batch", {"instances": [examples["benign"]] * limit, **options}))
    assert ok.status == 200 and all(p["counterfactual"]["max_features"] == features for p in ok.body["predictions"])
    over = invoke(event("v2", "POST", "/predict/batch", {"instances": [examples["benign"]] * (limit + 1), **options}))
    assert over.status == 422
    assert (
        f"counterfactuals of up to {features} features are given for 1 to {limit} records"
        in over.body["error"]["detail"]
    )
