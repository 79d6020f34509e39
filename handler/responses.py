"""Response models: what the OpenAPI document says each answer holds.

Documentation only: the routes answer with JSON built from the core's results, and a test checks
that every real answer validates against its model and dumps back to the same JSON. Imported when
the OpenAPI document is first asked for, never at init: building them costs a cold start time.
"""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from model.predictor import ANSWER, AnswerField
from model.schema import DISCLAIMER

Label = Literal["benign", "malignant"]


class Violation(BaseModel):
    field: str = Field(description="dotted path of the offending field, e.g. features.radius_mean")
    rule: str = Field(description="the rule broken, e.g. non_negative, finite, type, required, known_feature")
    value: Any = Field(description="the offending value (long values are shortened)")
    message: str


class ErrorBody(BaseModel):
    status: int
    title: str
    detail: str
    violations: list[Violation] = Field([], description="at most 20; the rest are counted in truncated")
    truncated: int = Field(0, description="violations found but not listed, so that the answer stays small")


class ErrorResponse(BaseModel):
    error: ErrorBody
    disclaimer: str = DISCLAIMER


class TopFeature(BaseModel):
    feature: str
    value: float = Field(description="the input value")
    contribution: float = Field(description="Shapley value in calibrated log-odds")
    direction: Literal["malignant", "benign"]


class ExplanationOut(BaseModel):
    base_value: float = Field(description="expected log-odds over the background rows")
    log_odds: float = Field(description="base_value + sum(contributions): the log-odds of probability_malignant")
    contributions: dict[str, float] = Field(description="one exact Shapley value per feature, in log-odds")
    top: list[TopFeature]


class ChangeOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    feature: str
    from_: float = Field(alias="from", description="the record's value, in the feature's own unit")
    to: float = Field(description="the value the model would answer otherwise with, in the feature's own unit")


class CounterfactualOut(BaseModel):
    found: bool = Field(description="false: no change of at most max_features features crosses the threshold")
    changes: list[ChangeOut] = Field(description="the features changed, in schema order; empty when not found")
    label: Literal["benign", "malignant"] | None = Field(description="the label the changed record gets")
    probability_malignant: float | None = Field(description="the changed record's calibrated probability")
    distance: float | None = Field(description="the change's length in the scaler's standard deviations")
    max_features: int
    statement: str = Field(description="the counterfactual in words, about the model, never about a patient")


class SimilarCaseOut(BaseModel):
    diagnosis: Literal["benign", "malignant"] = Field(description="the training case's known diagnosis")
    distance: float = Field(description="Euclidean distance to the record in standardised space")
    features: dict[str, float] = Field(description="the case's 30 values")


class SimilarCasesOut(BaseModel):
    cases: list[SimilarCaseOut] = Field(description="nearest first")
    agreeing: int = Field(description="how many of the cases have the answer's label as diagnosis")
    record_is_training_case: bool = Field(description="the record is itself a training row")


def _answer_field(field: AnswerField) -> tuple[Any, Any]:
    """A field of the answer (model.predictor.ANSWER) as a pydantic field: its type, and its description."""
    kinds: dict[str, Any] = {
        "label": Label,
        "number": float,
        "text": str,
        "flag": bool,
        "labels": list[Label],
        "texts": list[str],
        "ExplanationOut": ExplanationOut,
        "CounterfactualOut": CounterfactualOut,
        "SimilarCasesOut": SimilarCasesOut,
    }
    kind = kinds[field.kind]
    if field.asked_by is None:
        return kind, Field(description=field.description)
    return kind | None, Field(None, description=f"{field.description}; on request ({field.asked_by}), else null")


if TYPE_CHECKING:

    class PredictionOut(BaseModel):
        """One record's answer; at run time generated from model.predictor.ANSWER, one field per answer field."""

else:
    PredictionOut = create_model("PredictionOut", **{f.name: _answer_field(f) for f in ANSWER})


class PredictResponse(PredictionOut):
    model_version: str
    disclaimer: str = DISCLAIMER


class BatchResponse(BaseModel):
    predictions: list[PredictionOut]
    count: int
    model_version: str
    disclaimer: str = DISCLAIMER


class Health(BaseModel):
    status: Literal["ok"]
    model_loaded: bool
    model_version: str
    disclaimer: str = DISCLAIMER


class ErrorOut(BaseModel):
    """The protocol's error object."""

    error: str


class ServerMetadataResponse(BaseModel):
    name: str
    version: str
    extensions: list[str]


class ServerLiveResponse(BaseModel):
    live: bool


class ServerReadyResponse(BaseModel):
    ready: bool


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 for a dimension of any size")
    parameters: dict[str, Any] | None = None


class ModelMetadataResponse(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any] = Field(description="the disclaimer, the labels, the operating points and alphas")


class ModelReadyResponse(BaseModel):
    name: str
    ready: bool


class TensorOut(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    data: list[Any] = Field(description="row-major")


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] = Field(description="the operating point, its threshold, alpha and the disclaimer")
    outputs: list[TensorOut]


class V1Request(BaseModel):
    """KServe V1: instances, each the 30 values in schema order or an object of the 30 named values."""

    model_config = ConfigDict(extra="forbid")  # the route refuses any other key

    instances: list[list[float] | dict[str, float]] = Field(min_length=1)
    parameters: dict[str, Any] | None = Field(None, description="operating_point and alpha, as for V2")


class V1Predictions(BaseModel):
    predictions: list[PredictionOut] = Field(description="one per instance, without explanation")
    model_version: str
    disclaimer: str = DISCLAIMER


class V1Explanation(ExplanationOut):
    label: Literal["benign", "malignant"]
    probability_malignant: float


class V1Explanations(BaseModel):
    explanations: list[V1Explanation] = Field(description="exact Shapley values in log-odds, one per instance")
    model_version: str
    disclaimer: str = DISCLAIMER


class FeaturesResponse(BaseModel):
    features: dict[str, float] = Field(description="the WDBC features measured, ready for /predict when all 30 are")
    nuclei: list[dict[str, float]] = Field(description="each nucleus's ten measurements (texture with an image)")
    n_nuclei: int
    missing: list[str] = Field(description="the features that could not be measured (texture without an image)")
    conventions: str = Field(description="the named, versioned set of measurement conventions")
    safeguards: str
    warnings: list[str]
    model_version: str
    disclaimer: str = DISCLAIMER


class DemoImage(BaseModel):
    width: int
    height: int
    pixels: str = Field(description="base64 of width x height grey levels, row by row")


class FeaturesDemo(BaseModel):
    synthetic: Literal[True]
    note: str
    image: DemoImage
    outlines: list[list[list[float]]] = Field(description="each synthetic nucleus's outline, [x, y] pixel points")
    model_version: str
    disclaimer: str = DISCLAIMER


# Every model a route's answer is documented with (routes name them with handler.openapi.success).
DOCUMENTED: tuple[type[BaseModel], ...] = (
    PredictResponse,
    BatchResponse,
    Health,
    ErrorResponse,
    ErrorOut,
    ServerMetadataResponse,
    ServerLiveResponse,
    ServerReadyResponse,
    ModelMetadataResponse,
    ModelReadyResponse,
    InferenceResponse,
    V1Request,
    V1Predictions,
    V1Explanations,
    FeaturesResponse,
    FeaturesDemo,
)
