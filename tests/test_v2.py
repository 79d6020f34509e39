"""The Open Inference Protocol (V2): tritonclient against the app, events through the handler, the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import numpy as np
import pytest

from handler.limits import MAX_ERROR_BYTES
from infra.paths import ROOT
from local.emulator import running
from local.events import LocalContext, event
from model.predictor import Predictor
from model.schema import FEATURE_NAMES
from tests.support import Answer
from training import data

tritonclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402  (after the import check above)

Invoke = Callable[[dict[str, Any]], Answer]
ALL_OUTPUTS = (
    "predict",
    "predict_proba",
    "label",
    "prediction_set",
    "indeterminate",
    "out_of_distribution",
    "ood_distance",
    "shap_values",
    "shap_base_value",
)
SCHEMAS = json.loads((ROOT / "tests" / "open_inference_schemas.json").read_text())


def conforms(document: Any, component: str) -> None:
    """Validate against the protocol's published schema of `component`."""
    schema = {**SCHEMAS, "$ref": f"#/components/{component}"}
    jsonschema.validate(document, schema)


def _rows(examples: dict[str, dict[str, float]]) -> np.ndarray:
    return np.array([[examples[k][f] for f in FEATURE_NAMES] for k in ("benign", "malignant")])


def _infer_body(x: np.ndarray, outputs: tuple[str, ...] = (), **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [{"name": "input-0", "shape": list(x.shape), "datatype": "FP64", "data": x.ravel().tolist()}]
    }
    if outputs:
        body["outputs"] = [{"name": name} for name in outputs]
    if parameters:
        body["parameters"] = parameters
    return body


@pytest.mark.integration
def test_tritonclient_session(
    serve: Callable[..., str], artifact_dir: Path, predictor: Predictor, examples: dict[str, dict[str, float]]
) -> None:
    # GIVEN the app under uvicorn and a client nobody here wrote
    base = serve(artifact_dir)
    client = tritonclient.InferenceServerClient(base.removeprefix("http://"))
    # THEN health and metadata answer as the protocol says
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("wdbc")
    assert client.is_model_ready("wdbc", predictor.version)
    server = client.get_server_metadata()
    conforms(server, "metadata_server_response")
    assert set(server["extensions"]) == set(ALL_OUTPUTS) - {"predict", "predict_proba"}
    metadata = client.get_model_metadata("wdbc")
    conforms(metadata, "metadata_model_response")
    assert metadata["versions"] == [predictor.version]
    assert metadata["inputs"][0]["parameters"]["feature_order"] == list(FEATURE_NAMES)
    assert [o["name"] for o in metadata["outputs"]] == list(ALL_OUTPUTS)
    # WHEN it infers two rows as an FP64 [2, 30] tensor, asking for the explanation too
    x = _rows(examples)
    tensor = tritonclient.InferInput("input-0", list(x.shape), "FP64")
    tensor.set_data_from_numpy(x, binary_data=False)
    wanted = [tritonclient.InferRequestedOutput(n, binary_data=False) for n in ALL_OUTPUTS]
    result = client.infer("wdbc", [tensor], outputs=wanted, request_id="req-7", parameters={"alpha": 0.01})
    # THEN every output equals the predictor's, with the id echoed and the options stated
    conforms(result.get_response(), "inference_response")
    expected = predictor.predict(x, alpha=0.01, explain=True)
    assert result.get_response()["id"] == "req-7"
    assert result.get_response()["parameters"]["alpha"] == 0.01
    np.testing.assert_array_equal(result.as_numpy("predict"), [0, 1])
    np.testing.assert_array_equal(result.as_numpy("predict_proba")[:, 1], [p.probability_malignant for p in expected])
    assert list(result.as_numpy("label")) == ["benign", "malignant"]
    shap = result.as_numpy("shap_values")
    assert shap.shape == (2, 30)
    base = result.as_numpy("shap_base_value")
    np.testing.assert_allclose(base + shap.sum(axis=1), [p.log_odds for p in expected], atol=1e-9)
    # AND an FP32 tensor is read too
    tensor32 = tritonclient.InferInput("input-0", list(x.shape), "FP32")
    tensor32.set_data_from_numpy(x.astype(np.float32), binary_data=False)
    labels = client.infer("wdbc", [tensor32]).as_numpy("predict")
    np.testing.assert_array_equal(labels, [0, 1])
    # AND an unknown model is a 404 naming what exists
    with pytest.raises(InferenceServerException) as refused:
        client.get_model_metadata("other")
    assert "unknown model 'other'; this server serves model 'wdbc'" in refused.value.message()


def test_same_answers_as_the_native_batch_on_all_training_rows(invoke: Invoke, dataset: data.Dataset) -> None:
    # GIVEN the 569 training rows, sent once to /predict/batch and once to V2 infer, explained, same options
    x = dataset.x
    options = {"operating_point": "screening", "alpha": 0.01}
    native = invoke(
        event(
            "v2",
            "POST",
            "/predict/batch",
            {"instances": [dict(zip(FEATURE_NAMES, r, strict=True)) for r in x.tolist()], "explain": True, **options},
        )
    )
    v2 = invoke(event("v2", "POST", "/v2/models/wdbc/infer", _infer_body(x, ALL_OUTPUTS, **options)))
    assert native.status == 200 and v2.status == 200, v2.body
    conforms(v2.body, "inference_response")
    out = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in v2.body["outputs"]}
    rows = native.body["predictions"]
    # THEN every output equals the native answer to 1e-12
    probability = np.array([r["probability_malignant"] for r in rows])
    gaps = {
        "predict_proba": np.abs(out["predict_proba"] - np.stack([1 - probability, probability], axis=1)).max(),
        "ood_distance": np.abs(out["ood_distance"] - [r["ood_distance"] for r in rows]).max(),
        "shap_values": np.abs(
            out["shap_values"] - [[r["explanation"]["contributions"][f] for f in FEATURE_NAMES] for r in rows]
        ).max(),
        "shap_base_value": np.abs(out["shap_base_value"] - [r["explanation"]["base_value"] for r in rows]).max(),
    }
    assert max(gaps.values()) <= 1e-12, gaps
    assert list(out["predict"]) == [int(r["label"] == "malignant") for r in rows]
    assert list(out["label"]) == [r["label"] for r in rows]
    assert out["prediction_set"].tolist() == [
        ["benign" in r["prediction_set"], "malignant" in r["prediction_set"]] for r in rows
    ]
    assert list(out["indeterminate"]) == [r["indeterminate"] for r in rows]
    assert list(out["out_of_distribution"]) == [r["out_of_distribution"] for r in rows]
    assert v2.body["parameters"]["threshold"] == rows[0]["threshold"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_named_columns_nested_data_and_a_stage_prefix(
    invoke: Invoke, examples: dict[str, dict[str, float]], predictor: Predictor, version: str
) -> None:
    x = _rows(examples)
    # GIVEN 30 inputs named after the features (Seldon's pandas codec), through a named stage
    columns = {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": f, "shape": [2], "datatype": "FP64", "data": x[:, j].tolist()} for j, f in enumerate(FEATURE_NAMES)
        ],
    }
    named = invoke(event(version, "POST", "/v2/models/wdbc/infer", columns, stage_in_path=True))
    # AND the same rows as a nested [2, 30] tensor to the versioned route
    nested = {"inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP64", "data": x.tolist()}]}
    versioned = invoke(event(version, "POST", f"/v2/models/wdbc/versions/{predictor.version}/infer", nested))
    # THEN both answer the same labels
    for answer in (named, versioned):
        assert answer.status == 200, answer.body
        assert answer.body["outputs"][0] == {"name": "predict", "datatype": "INT64", "shape": [2], "data": [0, 1]}
    for path in ("/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/wdbc", "/v2/models/wdbc/ready"):
        assert invoke(event(version, "GET", path, stage_in_path=True)).status == 200, path


V2_ERRORS = [
    ("unknown_model", "/v2/models/other/infer", _infer_body, 404, "unknown model 'other'"),
    (
        "unknown_version",
        "/v2/models/wdbc/versions/0/infer",
        _infer_body,
        404,
        "unknown model 'wdbc' version '0'",
    ),
    (
        "negative",
        "/v2/models/wdbc/infer",
        lambda x: _infer_body(np.where(np.arange(30) == 2, -1.0, x)),
        400,
        "input 'input-0' row 0 feature perimeter_mean must be >= 0",
    ),
    (
        "worst_below_mean",
        "/v2/models/wdbc/infer",
        lambda x: _infer_body(np.where(np.arange(30) == 20, 0.5, x)),
        400,
        "input 'input-0' row 1 feature radius_worst (0.5) must be >= input 'input-0' row 1 feature radius_mean",
    ),
    (
        "wrong_shape",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "i", "shape": [2, 29], "datatype": "FP64", "data": x[:, :29].ravel().tolist()}]},
        400,
        "shape must be [n, 30] with n from 1 to 1000, got [2, 29]",
    ),
    (
        "too_few_values",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "i", "shape": [2, 30], "datatype": "FP64", "data": x.ravel().tolist()[:59]}]},
        400,
        "needs 60 values, got 59",
    ),
    (
        "strings",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "i", "shape": [1, 30], "datatype": "FP64", "data": ["1.0"] * 30}]},
        400,
        "every value must be a number, got ['str']",
    ),
    (
        "booleans",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "i", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 29 + [True]}]},
        400,
        "got ['bool']",
    ),
    (
        "bytes_datatype",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "i", "shape": [1, 30], "datatype": "BYTES", "data": [1.0] * 30}]},
        400,
        "datatype 'BYTES' is not numeric",
    ),
    (
        "over_the_limit",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "i", "shape": [1001, 30], "datatype": "FP64", "data": [1.0] * 30030}]},
        400,
        "n from 1 to 1000",
    ),
    (
        "unknown_output",
        "/v2/models/wdbc/infer",
        lambda x: _infer_body(x, ("probabilities",)),
        400,
        "unknown outputs ['probabilities']",
    ),
    (
        "unknown_operating_point",
        "/v2/models/wdbc/infer",
        lambda x: _infer_body(x, operating_point="lenient"),
        400,
        "parameters.unknown operating_point 'lenient'",
    ),
    (
        "missing_column",
        "/v2/models/wdbc/infer",
        lambda x: {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": f, "shape": [2], "datatype": "FP64", "data": x[:, j].tolist()}
                for j, f in enumerate(FEATURE_NAMES)
                if f != "area_se"
            ],
        },
        400,
        "missing ['area_se']",
    ),
    ("malformed", "/v2/models/wdbc/infer", lambda x: {"inputs": "x"}, 400, "the inference request is malformed"),
    (
        "huge_array",
        "/v2/models/wdbc/infer",
        lambda x: {"inputs": [{"name": "k" * 100_000, "shape": [1, 30], "datatype": "FP64", "data": [0.5] * 200_000}]},
        400,
        "needs 30 values, got 200000",
    ),
]


@pytest.mark.parametrize(("case", "path", "build", "status", "text"), V2_ERRORS, ids=[c[0] for c in V2_ERRORS])
def test_v2_errors_are_small_and_say_what_is_wrong(
    invoke: Invoke,
    lambda_module: ModuleType,
    examples: dict[str, dict[str, float]],
    case: str,
    path: str,
    build: Callable[[np.ndarray], dict[str, Any]],
    status: int,
    text: str,
) -> None:
    e = event("v2", "POST", path, build(_rows(examples)))
    raw = lambda_module.handler(e, LocalContext())["body"]
    answer = invoke(e)
    assert answer.status == status, answer.body
    conforms(answer.body, "error_response")
    assert text in answer.body["error"], answer.body["error"]
    assert len(raw.encode()) <= MAX_ERROR_BYTES


def test_unknown_v2_path_and_untyped_body(invoke: Invoke, examples: dict[str, dict[str, float]]) -> None:
    missing = invoke(event("v2", "GET", "/v2/nowhere"))
    assert missing.status == 404 and "no route" in missing.body["error"]
    other = invoke(event("v1", "GET", "/v2/models/other/versions/1/ready"))
    assert other.status == 404 and "unknown model 'other' version '1'" in other.body["error"]
    # Protocol clients may send JSON without a content type; other routes still require one.
    untyped = invoke(event("v2", "POST", "/v2/models/wdbc/infer", _infer_body(_rows(examples)), content_type=None))
    assert untyped.status == 200
    xml = invoke(event("v2", "POST", "/v2/models/wdbc/infer", raw_body=b"<x/>", content_type="application/xml"))
    assert xml.status == 415 and "application/xml" in xml.body["error"]


@pytest.mark.integration
@pytest.mark.sam
def test_v2_infer_under_the_emulator(artifact_dir: Path, examples: dict[str, dict[str, float]], tmp_path: Path) -> None:
    infer = event("v2", "POST", "/v2/models/wdbc/infer", _infer_body(_rows(examples), ("label", "shap_values")))
    with running(model_dir=artifact_dir, log_path=tmp_path / "rie.log") as emulator:
        answer = emulator.invoke(infer)
    assert answer.payload["statusCode"] == 200, answer.payload
    outputs = {o["name"]: o for o in json.loads(answer.payload["body"])["outputs"]}
    assert outputs["label"]["data"] == ["benign", "malignant"] and outputs["shap_values"]["shape"] == [2, 30]
