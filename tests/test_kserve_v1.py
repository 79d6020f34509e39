"""KServe's V1 protocol and the keys KServe's SDK adds to V2: answers, and errors that are small and named."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from handler.limits import MAX_ERROR_BYTES
from local.events import event
from model.schema import FEATURE_NAMES
from tests.support import Answer

Invoke = Callable[[dict[str, Any]], Answer]


def _row(examples: dict[str, dict[str, float]], kind: str = "malignant") -> list[float]:
    return [examples[kind][name] for name in FEATURE_NAMES]


def test_v1_predict_and_explain_answer_what_predict_does(invoke: Invoke, examples: dict[str, dict[str, float]]) -> None:
    # GIVEN one instance as a list in schema order and one as named values
    instances: list[Any] = [_row(examples, "benign"), examples["malignant"]]
    ready = invoke(event("v2", "GET", "/v1/models/wdbc"))
    predicted = invoke(event("v2", "POST", "/v1/models/wdbc:predict", {"instances": instances}))
    explained = invoke(event("v2", "POST", "/v1/models/wdbc:explain", {"instances": instances}))
    batch = invoke(event("v2", "POST", "/predict/batch", {"instances": [examples["benign"], examples["malignant"]]}))
    one = invoke(event("v2", "POST", "/predict", {"features": examples["malignant"], "explain": True}))
    # THEN readiness, predictions and explanations are those of the native routes
    assert ready.status == 200 and ready.body == {"name": "wdbc", "ready": True}
    expected = [{k: v for k, v in p.items() if k != "explanation"} for p in batch.body["predictions"]]
    assert predicted.status == 200 and predicted.body["predictions"] == expected
    assert "not a diagnostic tool" in predicted.body["disclaimer"]
    last = explained.body["explanations"][1]
    assert last["contributions"] == pytest.approx(one.body["explanation"]["contributions"], rel=0, abs=1e-12)
    assert last["base_value"] == one.body["explanation"]["base_value"] and last["label"] == "malignant"
    # AND the screening operating point is asked for as in V2, through parameters
    screening = {"instances": instances, "parameters": {"operating_point": "screening"}}
    assert invoke(event("v2", "POST", "/v1/models/wdbc:predict", screening)).body["predictions"][0][
        "operating_point"
    ] == ("screening")


def _with(examples: dict[str, dict[str, float]], **changes: Any) -> dict[str, Any]:
    return {**examples["malignant"], **changes}


V1_ERRORS: list[tuple[str, str, Callable[[dict[str, dict[str, float]]], Any], int, str]] = [
    ("unknown_model", "/v1/models/other:predict", lambda ex: {"instances": [_row(ex)]}, 404, "unknown model 'other'"),
    ("no_instances", "/v1/models/wdbc:predict", lambda ex: {"rows": [_row(ex)]}, 400, 'expected {"instances": [...]}'),
    ("empty", "/v1/models/wdbc:predict", lambda ex: {"instances": []}, 400, "expected 1 to 1000 instances, got 0"),
    ("too_many", "/v1/models/wdbc:predict", lambda ex: {"instances": [_row(ex)] * 1001}, 400, "got 1001"),
    (
        "short_row",
        "/v1/models/wdbc:predict",
        lambda ex: {"instances": [_row(ex)[:29]]},
        400,
        "30 values in schema order, got 29",
    ),
    (
        "unknown_name",
        "/v1/models/wdbc:explain",
        lambda ex: {"instances": [{**ex["malignant"], "tumour": 1.0}]},
        400,
        "unknown ['tumour']",
    ),
    (
        "string_value",
        "/v1/models/wdbc:predict",
        lambda ex: {"instances": [_with(ex, radius_mean="7")]},
        400,
        "radius_mean: expected a number, got '7'",
    ),
    (
        "negative",
        "/v1/models/wdbc:predict",
        lambda ex: {"instances": [_with(ex, radius_mean=-1.0)]},
        400,
        "instances[0].radius_mean must be >= 0",
    ),
    (
        "unknown_key",
        "/v1/models/wdbc:predict",
        lambda ex: {"instances": [_row(ex)], "signature": "x"},
        400,
        "unknown keys ['signature']",
    ),
    (
        "bad_option",
        "/v1/models/wdbc:predict",
        lambda ex: {"instances": [_row(ex)], "parameters": {"alpha": 0.2}},
        400,
        "alpha",
    ),
    ("not_json", "/v1/models/wdbc:predict", lambda ex: None, 400, "not valid JSON"),
]


@pytest.mark.parametrize(("case", "path", "build", "status", "text"), V1_ERRORS, ids=[c[0] for c in V1_ERRORS])
def test_v1_errors_are_small_and_say_what_is_wrong(
    invoke: Invoke,
    examples: dict[str, dict[str, float]],
    case: str,
    path: str,
    build: Callable[[dict[str, dict[str, float]]], Any],
    status: int,
    text: str,
) -> None:
    body = build(examples)
    e = event("v2", "POST", path, raw_body=b"{instances" if body is None else json.dumps(body).encode())
    answer = invoke(e)
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error"} and text in answer.body["error"], answer.body
    assert len(json.dumps(answer.body).encode()) <= MAX_ERROR_BYTES


def test_v2_accepts_the_model_name_kserve_sends_and_refuses_another(
    invoke: Invoke, examples: dict[str, dict[str, float]]
) -> None:
    tensor = {"name": "input-0", "shape": [1, 30], "datatype": "FP64", "data": _row(examples)}
    same = invoke(event("v2", "POST", "/v2/models/wdbc/infer", {"id": "1", "model_name": "wdbc", "inputs": [tensor]}))
    assert same.status == 200 and same.body["id"] == "1"
    other = invoke(event("v2", "POST", "/v2/models/wdbc/infer", {"model_name": "other", "inputs": [tensor]}))
    assert other.status == 400 and "model_name 'other' in the body differs" in other.body["error"]
    version = invoke(event("v2", "POST", "/v2/models/wdbc/infer", {"model_version": "v0", "inputs": [tensor]}))
    assert version.status == 400 and "model_version 'v0'" in version.body["error"]
    # AND what is wrong is still refused: an unknown key is not one a client is known to add
    odd = invoke(event("v2", "POST", "/v2/models/wdbc/infer", {"model": "wdbc", "inputs": [tensor]}))
    assert odd.status == 400 and "model: Extra inputs are not permitted" in odd.body["error"]


def test_a_verb_is_never_read_as_part_of_the_model_name(invoke: Invoke) -> None:
    # /v1/models/wdbc:predict is the predict route, not the readiness of a model named "wdbc:predict"
    wrong_method = invoke(event("v2", "GET", "/v1/models/wdbc:predict"))
    assert wrong_method.status == 405 and wrong_method.headers["allow"] == "POST"
    assert invoke(event("v2", "GET", "/v1/models/wdbc")).status == 200


def test_protocol_routes_are_served_and_documented(lambda_module: ModuleType) -> None:
    # GIVEN a fresh app WHEN the OpenAPI document is asked for THEN every V1 and V2 operation is in it
    app = lambda_module.create_app(lambda_module.settings, lambda_module.predictor)
    paths = app.openapi()["paths"]
    assert {"/v2/models/{name}/infer", "/v1/models/{name}:explain"} <= set(paths)
