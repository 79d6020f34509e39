"""Request and response models. Only the feature record is generated, from the feature schema.

What depends on the loaded model (training ranges, examples, the allowed options, the batch limit)
is added to the OpenAPI document by `handler.openapi`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from model.schema import DISCLAIMER, FEATURES, Feature


class Violation(BaseModel):
    field: str = Field(description="dotted path of the offending field, e.g. features.radius_mean")
    rule: str = Field(description="the rule broken, e.g. non_negative, finite, type, required, known_feature")
    value: Any = Field(description="the offending value (long values are shortened)")
    message: str


class ErrorBody(BaseModel):
    status: int
    title: str
    detail: str
    violations: list[Violation] = []


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


class PredictionOut(BaseModel):
    label: Literal["benign", "malignant"]
    probability_malignant: float = Field(description="calibrated probability of malignancy")
    confidence: float = Field(description="calibrated probability of the returned label")
    log_odds: float
    operating_point: str
    threshold: float = Field(description="malignant when probability_malignant >= threshold")
    alpha: float = Field(description="conformal miscoverage level of prediction_set")
    prediction_set: list[Literal["benign", "malignant"]]
    indeterminate: bool = Field(description="the conformal set does not hold exactly one label")
    out_of_distribution: bool
    ood_distance: float
    ood_threshold: float
    warnings: list[str]
    explanation: ExplanationOut | None = None


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


def _feature_field(feature: Feature) -> Any:
    description = f"{feature.description} Unit: {feature.unit}."
    return (Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True, description=description)], ...)


if TYPE_CHECKING:

    class FeatureRecord(BaseModel):
        """The 30 named features; at run time generated from model.schema, one field per feature."""

else:
    FeatureRecord = create_model(
        "Features",
        __config__=ConfigDict(extra="forbid"),
        **{f.name: _feature_field(f) for f in FEATURES},
    )


class Options(BaseModel):
    """What every prediction request may choose; the values allowed come from the loaded model."""

    model_config = ConfigDict(extra="forbid")

    explain: bool = Field(False, strict=True, description="add exact per-feature contributions")
    operating_point: str = Field(
        "balanced",
        strict=True,
        description="balanced: max sensitivity + specificity; screening: sensitivity >= 0.99",
    )
    alpha: float = Field(0.05, strict=True, description="conformal miscoverage level of the prediction set")


class PredictRequest(Options):
    features: FeatureRecord


class BatchRequest(Options):
    instances: list[FeatureRecord] = Field(min_length=1, description="1 to MAX_BATCH_SIZE records")
