"""The Lambda handler driven with real API Gateway events (REST v1 and HTTP API v2), as `sam local
generate-event` writes them, bodies replaced."""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from handler import responses
from local.events import EVENTS, LocalContext, event, expected_status
from model.demo_image import demo
from model.errors import Violation
from model.predictor import Predictor
from model.schema import FEATURE_NAMES
from tests.support import Answer

Invoke = Callable[[dict[str, Any]], Answer]
VERSIONS = ["v1", "v2"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("base64_body", [False, True])
def test_predict_one_record(
    invoke: Invoke, examples: dict[str, dict[str, float]], predictor: Predictor, version: str, base64_body: bool
) -> None:
    # GIVEN a real malignant row in an API Gateway event
    e = event(version, "POST", "/predict", {"features": examples["malignant"]}, base64_body=base64_body)
    # WHEN the function handles it
    answer = invoke(e)
    # THEN it returns the Predictor's answer with version and disclaimer
    assert answer.status == 200, answer.body
    body = answer.body
    [expected] = predictor.predict(np.array([[examples["malignant"][name] for name in FEATURE_NAMES]]))
    assert body["label"] == expected.label == "malignant"
    assert body["probability_malignant"] == expected.probability_malignant
    assert body["operating_point"] == "balanced" and body["threshold"] == predictor.operating_points["balanced"]
    assert body["model_version"] == predictor.version
    assert "not a diagnostic tool" in body["disclaimer"]
    assert body["explanation"] is None
    assert set(body) >= {"confidence", "prediction_set", "indeterminate", "out_of_distribution", "warnings"}


@pytest.mark.parametrize("version", VERSIONS)
def test_explanation_adds_up_to_the_returned_probability(
    invoke: Invoke, examples: dict[str, dict[str, float]], version: str
) -> None:
    # GIVEN a request for an explanation
    answer = invoke(event(version, "POST", "/predict", {"features": examples["benign"], "explain": True}))
    # THEN base value + contributions = log-odds of the returned probability, to 1e-9
    assert answer.status == 200
    body = answer.body
    p = body["probability_malignant"]
    log_odds = math.log(p / (1 - p))
    explanation = body["explanation"]
    assert len(explanation["contributions"]) == 30
    assert abs(explanation["base_value"] + sum(explanation["contributions"].values()) - log_odds) <= 1e-9
    assert [t["feature"] for t in explanation["top"]][:1] == [
        max(explanation["contributions"], key=lambda k: abs(explanation["contributions"][k]))
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_batch_with_options(invoke: Invoke, examples: dict[str, dict[str, float]], version: str) -> None:
    # GIVEN a batch of a benign and a malignant row at the screening operating point
    body = {"instances": [examples["benign"], examples["malignant"]], "operating_point": "screening", "alpha": 0.01}
    answer = invoke(event(version, "POST", "/predict/batch", body))
    # THEN one result per row, in order, at the screening threshold
    assert answer.status == 200
    assert answer.body["count"] == 2
    assert [p["label"] for p in answer.body["predictions"]] == ["benign", "malignant"]
    assert {p["operating_point"] for p in answer.body["predictions"]} == {"screening"}
    assert {p["alpha"] for p in answer.body["predictions"]} == {0.01}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("stage_in_path", [False, True])
def test_get_routes_behind_a_stage_prefix(
    invoke: Invoke, predictor: Predictor, version: str, stage_in_path: bool
) -> None:
    # GIVEN GET requests as they arrive through a named stage's URL (or a custom domain)
    health = invoke(event(version, "GET", "/health", content_type=None, stage_in_path=stage_in_path))
    card = invoke(event(version, "GET", "/model", content_type=None, stage_in_path=stage_in_path))
    docs = invoke(event(version, "GET", "/docs", content_type=None, stage_in_path=stage_in_path))
    spec = invoke(event(version, "GET", "/openapi.json", content_type=None, stage_in_path=stage_in_path))
    # THEN every route answers, and the docs page loads the spec from under the stage
    assert health.status == 200 and health.body["model_version"] == predictor.version
    assert card.status == 200 and [f["name"] for f in card.body["features"]][:2] == ["radius_mean", "texture_mean"]
    assert docs.status == 200
    prefix = "/prod" if stage_in_path else ""
    assert f"'{prefix}/openapi.json'" in docs.body or f'"{prefix}/openapi.json"' in docs.body
    assert spec.status == 200 and "/predict" in spec.body["paths"]
    if stage_in_path:
        assert [server["url"] for server in spec.body["servers"]] == ["/prod"]


def test_openapi_documents_schema_and_every_error(invoke: Invoke, artifact_dir: Any) -> None:
    spec = invoke(event("v2", "GET", "/openapi.json", content_type=None)).body
    features = spec["components"]["schemas"]["Features"]
    assert len(features["properties"]) == 30 and set(features["required"]) == set(features["properties"])
    radius = features["properties"]["radius_mean"]
    assert radius["minimum"] == 0 and "Training range" in radius["description"] and "x-training-max" in radius
    assert features["examples"][0]["radius_mean"] > 0
    for path in ("/predict", "/predict/batch"):
        responses = spec["paths"][path]["post"]["responses"]
        for status in ("200", "400", "404", "405", "413", "415", "422"):
            assert status in responses, (path, status)
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")


@pytest.mark.parametrize("event_body", [{}, {"Records": [{"eventSource": "aws:s3"}]}, [], "ping", None])
def test_non_api_gateway_events_get_a_clear_error_and_the_function_keeps_serving(
    invoke: Invoke, lambda_module: Any, examples: dict[str, dict[str, float]], event_body: Any
) -> None:
    # WHEN the function is invoked directly with something that is not an API Gateway event
    out = lambda_module.handler(event_body, LocalContext())
    # THEN it answers 400 naming what it expects, and still serves the next real request
    assert out["statusCode"] == 400
    assert "answers API Gateway (REST v1 or HTTP API v2) events" in out["body"]
    assert invoke(event("v2", "POST", "/predict", {"features": examples["benign"]})).status == 200


@pytest.fixture
def json_logs(lambda_module: Any) -> Iterator[io.StringIO]:
    """The function's log lines exactly as Powertools formats them for CloudWatch."""
    from handler.observability import logger

    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.service).addHandler(capture)
    yield buffer
    logging.getLogger(logger.service).removeHandler(capture)


def test_logs_hold_no_feature_values_bodies_or_results(
    invoke: Invoke, examples: dict[str, dict[str, float]], json_logs: io.StringIO
) -> None:
    # GIVEN valid, explained and invalid calls with distinctive values
    features = dict(examples["malignant"])
    features["texture_mean"] = 10.456789
    invoke(event("v2", "POST", "/predict", {"features": features, "explain": True}))
    invoke(event("v1", "POST", "/predict/batch", {"instances": [features]}))
    bad = {**features, "radius_mean": -7.654321}
    invoke(event("v2", "POST", "/predict", {"features": bad}))
    invoke(event("v2", "POST", "/predict", raw_body=b'{"features": {"secret_field_name": 98765.4321}}'))
    # THEN the log lines carry request facts but no values, bodies or results
    logs = json_logs.getvalue()
    records = [json.loads(line) for line in logs.splitlines()]
    assert [r["message"] for r in records].count("predictions served") == 0  # successes write nothing at INFO
    assert [r["message"] for r in records].count("request rejected") == 2
    assert all(
        r["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" or r["correlation_id"] == "id" for r in records
    )
    for secret in ("10.456789", "7.654321", "98765.4321", "secret_field_name", "malignant", "probability"):
        assert secret not in logs, secret


SAMPLE_EVENTS = sorted(EVENTS.glob("*.json"))


@pytest.mark.parametrize("path", SAMPLE_EVENTS, ids=[p.stem for p in SAMPLE_EVENTS])
def test_every_sample_event_is_answered_as_its_name_says(invoke: Invoke, path: Path) -> None:
    # GIVEN an event file exactly as `make invoke EVENT=...` sends it
    sample = json.loads(path.read_text())
    # WHEN the function handles it
    answer = invoke(sample)
    # THEN the status is the one its name promises, and the body is what that route returns
    assert answer.status == expected_status(path.stem), answer.body
    if answer.status != 200:
        assert "not a diagnostic tool" in answer.body["disclaimer"] and answer.body["error"]["detail"]
    elif path.stem.startswith("predict-batch"):
        assert answer.body["count"] == len(answer.body["predictions"]) > 1
    elif path.stem.startswith("predict"):
        assert answer.body["label"] in ("benign", "malignant")
        assert (answer.body["explanation"] is not None) == ("explain" in path.stem)
    elif path.stem.startswith("health"):
        assert answer.body["status"] == "ok"
    elif path.stem.startswith("model"):
        assert len(answer.body["features"]) == 30
    else:
        assert answer.headers["content-type"].startswith(("text/html", "application/json"))


def test_response_models_describe_real_answers(
    invoke: Invoke, examples: dict[str, dict[str, float]], predictor: Predictor, malignant_row: np.ndarray
) -> None:
    # GIVEN a real answer of every documented kind
    row = [examples["malignant"][name] for name in FEATURE_NAMES]
    infer = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": row}]}
    answers = {
        responses.PredictResponse: (
            "POST",
            "/predict",
            {"features": examples["benign"], "explain": True, "counterfactual": True, "similar_cases": 3},
        ),
        responses.BatchResponse: ("POST", "/predict/batch", {"instances": [examples["benign"]] * 2}),
        responses.ErrorResponse: ("POST", "/predict", {"features": {}}),
        responses.Health: ("GET", "/health", None),
        responses.ServerMetadataResponse: ("GET", "/v2", None),
        responses.ServerLiveResponse: ("GET", "/v2/health/live", None),
        responses.ServerReadyResponse: ("GET", "/v2/health/ready", None),
        responses.ModelMetadataResponse: ("GET", "/v2/models/wdbc", None),
        responses.ModelReadyResponse: ("GET", "/v2/models/wdbc/ready", None),
        responses.InferenceResponse: ("POST", "/v2/models/wdbc/infer", infer),
        responses.ErrorOut: ("GET", "/v2/models/nope", None),
        responses.V1Predictions: ("POST", "/v1/models/wdbc:predict", {"instances": [row, examples["benign"]]}),
        responses.V1Explanations: ("POST", "/v1/models/wdbc:explain", {"instances": [row]}),
        responses.FeaturesResponse: ("POST", "/features", {"outlines": demo().outlines}),
        responses.FeaturesDemo: ("GET", "/features/demo", None),
    }
    # THEN each validates against the model the OpenAPI document names for it, and dumping it back gives
    # the very same JSON: no field of the answer is undeclared, and none of the model's is missing
    for model, (method, path, body) in answers.items():
        answer = invoke(event("v2", method, path, body)).body
        assert model.model_validate(answer).model_dump(mode="json", exclude_unset=True) == answer, model
    # AND every documented model is one of these, or the V1 body that was sent
    assert set(responses.DOCUMENTED) <= {*answers, responses.V1Request}
    responses.V1Request.model_validate(answers[responses.V1Predictions][2])
    # AND the core's result and the documented one have the same fields
    assert set(responses.PredictionOut.model_fields) == set(predictor.predict(malignant_row)[0].as_dict())
    assert set(responses.Violation.model_fields) == set(Violation._fields)
