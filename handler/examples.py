"""The OpenAPI document's examples, from the training data's own records (the manifest's examples).

Every request body gets valid examples (Swagger UI's "Try it out" sends the first as it is, and
schemathesis starts from them), and every 200 answer the function's own answer to the first one,
built by the routes' answer functions. Built with the document, on its first request; these
predictions are counted nowhere (no drift window, no metric).
"""

from collections.abc import Callable
from functools import partial
from typing import Any

from handler import outlines
from handler.answers import batch_answer, health_answer, record_answer
from handler.deps import AppState, predict
from handler.kserve import codec, v1, v2
from handler.routes import rows_and_options
from handler.schemas import BatchRequest, FeaturesRequest, PredictRequest
from model import demo_image
from model.schema import FEATURE_NAMES, envelope

# (method, path as the document writes it)
Operation = tuple[str, str]


def _record(state: AppState, label: str) -> dict[str, float]:
    return dict(state.predictor.manifest.examples[label].features)


def requests(state: AppState) -> dict[Operation, dict[str, dict[str, Any]]]:
    """Each POST operation's named examples: {name: {"summary": ..., "value": body}}, the first the default."""
    malignant, benign = _record(state, "malignant"), _record(state, "benign")
    rows = [[record[name] for name in FEATURE_NAMES] for record in (malignant, benign)]
    tensor = {"inputs": [{"name": "input-0", "shape": [2, len(FEATURE_NAMES)], "datatype": "FP64", "data": rows}]}
    columns = {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": name, "shape": [2], "datatype": "FP64", "data": [malignant[name], benign[name]]}
            for name in FEATURE_NAMES
        ],
    }
    infer = {
        "tensor": {
            "summary": "one [2, 30] tensor in schema order (a malignant, then a benign record)",
            "value": tensor,
        },
        "pd": {"summary": "30 named [2] inputs, one per feature (pandas codec)", "value": columns},
    }
    v1 = {"instances": {"summary": "two instances in schema order (malignant, benign)", "value": {"instances": rows}}}
    return {
        ("post", "/predict"): {
            "malignant": {"summary": "a malignant training record", "value": {"features": malignant}},
            "benign": {"summary": "a benign training record", "value": {"features": benign}},
        },
        ("post", "/predict/batch"): {
            "batch": {
                "summary": "two training records, malignant then benign",
                "value": {"instances": [malignant, benign]},
            }
        },
        ("post", "/v2/models/{name}/infer"): infer,
        ("post", "/v2/models/{name}/versions/{version}/infer"): infer,
        ("post", "/v1/models/{name}:predict"): v1,
        ("post", "/v1/models/{name}:explain"): v1,
        ("post", "/features"): {
            "outlines": {
                "summary": "the synthetic demo's five outlines, without its image (so no texture), half a unit a pixel",
                "value": {"outlines": demo_image.demo().outlines, "scale": 0.5},
            }
        },
    }


def answers(state: AppState, asked: dict[Operation, dict[str, dict[str, Any]]]) -> dict[Operation, Any]:
    """Each operation's 200 answer: to its first request example, or to the GET itself."""
    version, name = state.predictor.version, state.settings.model_name
    quiet = partial(predict, state)

    def first(operation: Operation) -> Any:
        return next(iter(asked[operation].values()))["value"]

    def v2_infer(operation: Operation) -> dict[str, Any]:
        return v2.infer_answer(state, v2.InferenceRequest.model_validate(first(operation)), quiet)

    def v1_answer_to(operation: Operation, explain: bool) -> dict[str, Any]:
        return {**v1.v1_answer(state, first(operation), explain, quiet), **envelope(version)}

    one = PredictRequest.model_validate(first(("post", "/predict")))
    shapes = FeaturesRequest.model_validate(first(("post", "/features")))
    batch = BatchRequest.model_validate(first(("post", "/predict/batch")))
    built: dict[Operation, Callable[[], Any]] = {
        ("post", "/predict"): lambda: record_answer(quiet(*rows_and_options([one.features], one), ""), version),
        ("post", "/predict/batch"): lambda: batch_answer(quiet(*rows_and_options(batch.instances, batch), ""), version),
        ("get", "/health"): lambda: health_answer(version),
        ("get", "/model"): state.card,
        ("get", "/v2"): lambda: v2.server_metadata(state),
        ("get", "/v2/health/live"): lambda: v2.LIVE,
        ("get", "/v2/health/ready"): lambda: v2.READY,
        ("get", "/v2/models/{name}"): lambda: v2.metadata(state),
        ("get", "/v2/models/{name}/versions/{version}"): lambda: v2.metadata(state),
        ("get", "/v2/models/{name}/ready"): lambda: codec.model_ready(name),
        ("get", "/v2/models/{name}/versions/{version}/ready"): lambda: codec.model_ready(name),
        ("post", "/v2/models/{name}/infer"): lambda: v2_infer(("post", "/v2/models/{name}/infer")),
        ("post", "/v2/models/{name}/versions/{version}/infer"): lambda: v2_infer(
            ("post", "/v2/models/{name}/versions/{version}/infer")
        ),
        ("get", "/v1/models/{name}"): lambda: codec.model_ready(name),
        ("post", "/v1/models/{name}:predict"): lambda: v1_answer_to(("post", "/v1/models/{name}:predict"), False),
        ("post", "/v1/models/{name}:explain"): lambda: v1_answer_to(("post", "/v1/models/{name}:explain"), True),
        ("post", "/features"): lambda: outlines.answer(shapes, version),
        ("get", "/features/demo"): lambda: outlines.demo_answer(version),
    }
    return {operation: answer() for operation, answer in built.items()}
