"""Request and response models, generated from the feature schema and the loaded model's manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from model.predictor import Predictor
from model.schema import DISCLAIMER, FEATURES


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


@dataclass(frozen=True)
class RequestModels:
    predict: type[BaseModel]
    batch: type[BaseModel]


def request_models(predictor: Predictor, max_batch_size: int) -> RequestModels:
    """Request models whose 30 fields, descriptions, ranges and example come from the schema and manifest."""
    ranges = {f["name"]: (f["training_min"], f["training_max"]) for f in predictor.manifest["features"]}
    example = predictor.manifest["examples"]["malignant"]["features"]
    fields: dict[str, Any] = {
        f.name: (
            Annotated[
                float,
                Field(
                    ge=0,
                    allow_inf_nan=False,
                    strict=True,
                    description=f"{f.description} Unit: {f.unit}. Training range "
                    f"{ranges[f.name][0]:g} to {ranges[f.name][1]:g}.",
                    json_schema_extra={"x-training-min": ranges[f.name][0], "x-training-max": ranges[f.name][1]},
                    examples=[example[f.name]],
                ),
            ],
            ...,
        )
        for f in FEATURES
    }
    features = create_model(
        "Features",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
        **fields,
    )
    points = tuple(predictor.operating_points)
    alphas = tuple(sorted(predictor.conformal))
    options: dict[str, Any] = {
        "explain": (bool, Field(False, strict=True, description="add exact per-feature contributions")),
        "operating_point": (
            Literal[points],
            Field("balanced", description="balanced: max sensitivity + specificity; screening: sensitivity >= 0.99"),
        ),
        "alpha": (
            Literal[alphas],
            Field(0.05, description="conformal miscoverage level of the prediction set"),
        ),
    }
    config = ConfigDict(extra="forbid")
    predict = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [{"features": example}]}),
        features=(features, ...),
        **options,
    )
    batch = create_model(
        "BatchRequest",
        __config__=config,
        instances=(
            list[features],  # type: ignore[valid-type]
            Field(min_length=1, max_length=max_batch_size, description=f"1 to {max_batch_size} records"),
        ),
        **options,
    )
    return RequestModels(predict, batch)
