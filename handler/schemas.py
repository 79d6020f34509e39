"""Request models. Only the feature record is generated, from the feature schema.

The response models, which only document answers, live in `handler.responses`; what depends on the
loaded model (training ranges, examples, the allowed options, the batch limit) is added to the
OpenAPI document by `handler.openapi`.
"""

import itertools
from collections.abc import Collection
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from handler.errors import shorten_text
from handler.limits import LARGEST_BATCH, MAX_BAD_RECORDS, MAX_ECHO_CHARS
from model.predictor import CaseOptions
from model.schema import (
    COUNTERFACTUAL_FEATURES_DEFAULT,
    COUNTERFACTUAL_FEATURES_MAX,
    DEFAULT_ALPHA,
    DEFAULT_OPERATING_POINT,
    FEATURE_NAMES,
    FEATURES,
    MAX_SCALE,
    SIMILAR_CASES_MAX,
    Feature,
)

FEATURE_NAME_SET = frozenset(FEATURE_NAMES)


def _feature_field(feature: Feature) -> Any:
    description = f"{feature.description} Unit: {feature.unit}."
    return (Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True, description=description)], ...)


def _few_keys(data: Any, names: Collection[str]) -> Any:
    """Refuse an object with more keys than a model has fields before its keys are checked one by one.

    The message names up to five unknown keys among the first few, so the work stays bounded.
    """
    if isinstance(data, dict) and len(data) > len(names):
        looked_at = itertools.islice(data, len(names) + MAX_BAD_RECORDS)
        unknown = [shorten_text(str(k), MAX_ECHO_CHARS) for k in looked_at if k not in names][:5]
        raise PydanticCustomError(
            "too_many_keys",
            "expected an object of at most {limit} keys, got {count}; unknown keys include {unknown}",
            {"limit": len(names), "count": len(data), "unknown": str(unknown)},
        )
    return data


class _RecordBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _at_most_the_features(cls, data: Any) -> Any:
        return _few_keys(data, FEATURE_NAME_SET)


if TYPE_CHECKING:

    class FeatureRecord(_RecordBase):
        """The 30 named features; at run time generated from model.schema, one field per feature."""

else:
    FeatureRecord = create_model("Features", __base__=_RecordBase, **{f.name: _feature_field(f) for f in FEATURES})


def _whole(value: Any) -> Any:
    """7.0 is the integer 7 in JSON Schema (and in JSON): accept it as such, strictly otherwise."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, BeforeValidator(_whole)]


class Options(BaseModel):
    """What every prediction request may choose; the values allowed come from the loaded model."""

    model_config = ConfigDict(extra="forbid")

    explain: bool = Field(False, strict=True, description="add exact per-feature contributions")
    operating_point: str = Field(
        DEFAULT_OPERATING_POINT,
        strict=True,
        description="the operating point whose threshold decides the label",
    )
    alpha: float = Field(DEFAULT_ALPHA, strict=True, description="conformal miscoverage level of the prediction set")
    counterfactual: bool = Field(
        False,
        strict=True,
        description=(
            "add the smallest change (in standard deviations) of at most counterfactual_features features, within "
            "their training ranges and the hard rules, that the model answers with the other label: a statement "
            "about the model, not about a patient"
        ),
    )
    counterfactual_features: Count = Field(
        COUNTERFACTUAL_FEATURES_DEFAULT,
        ge=1,
        le=COUNTERFACTUAL_FEATURES_MAX,
        strict=True,
        description="most features a counterfactual changes",
    )
    similar_cases: Count = Field(
        0,
        ge=0,
        le=SIMILAR_CASES_MAX,
        strict=True,
        description="add this many training cases nearest to the record (standardised space), nearest first; 0: none",
    )

    def cases(self) -> CaseOptions:
        return CaseOptions(self.counterfactual_features if self.counterfactual else 0, self.similar_cases)

    @model_validator(mode="before")
    @classmethod
    def _at_most_the_fields(cls, data: Any) -> Any:
        return _few_keys(data, cls.model_fields.keys())


def _as_line_error(error: ErrorDetails, index: int) -> InitErrorDetails:
    # The record's own message, already rendered: it carries no placeholders to fill again.
    message = error["msg"].replace("{", "(").replace("}", ")")
    return InitErrorDetails(
        type=PydanticCustomError(error["type"], message),
        loc=(index, *error["loc"]),
        input=error["input"],
    )


def _records(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Records one by one, stopping at MAX_BAD_RECORDS bad ones: the rest are neither checked nor reported."""
    if not isinstance(value, list) or not value:
        return handler(value)
    if len(value) > LARGEST_BATCH:
        raise PydanticCustomError(
            "too_long", "expected at most {limit} records, got {count}", {"limit": LARGEST_BATCH, "count": len(value)}
        )
    records: list[FeatureRecord] = []
    errors: list[InitErrorDetails] = []
    bad = 0
    for index, item in enumerate(value):
        try:
            records.append(FeatureRecord.model_validate(item))
        except ValidationError as err:
            bad += 1
            errors.extend(_as_line_error(e, index) for e in err.errors())
            if bad == MAX_BAD_RECORDS and index + 1 < len(value):
                rest = len(value) - index - 1
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "bad_records",
                            "checking stopped after {bad} bad records; {rest} more were not checked",
                            {"bad": bad, "rest": rest},
                        ),
                        loc=(),
                        input=rest,
                    )
                )
                break
    if errors:
        raise ValidationError.from_exception_data("instances", errors)
    return records


class PredictRequest(Options):
    features: FeatureRecord


class BatchRequest(Options):
    instances: Annotated[list[FeatureRecord], WrapValidator(_records)] = Field(
        min_length=1, description="1 to MAX_BATCH_SIZE records"
    )


class ImageIn(BaseModel):
    """A greyscale image as 8-bit levels, row by row: the function decodes no image format."""

    model_config = ConfigDict(extra="forbid")

    width: int = Field(ge=1, le=65536, strict=True, description="pixels per row")
    height: int = Field(ge=1, le=65536, strict=True, description="rows")
    pixels: str = Field(description="base64 of width x height bytes, one grey level (0 to 255) per pixel, row by row")


class FeaturesRequest(BaseModel):
    """Nuclear outlines, and optionally the image, for POST /features."""

    model_config = ConfigDict(extra="forbid")

    outlines: dict[str, Any] | list[Any] = Field(
        description="a GeoJSON FeatureCollection or list of Features as QuPath exports them (a cell's nucleusGeometry "
        "when present, else its Polygon geometry), or a list of polygons, each a list of [x, y] pixel coordinates"
    )
    image: ImageIn | None = Field(None, description="the image's grey levels, for the three texture features")
    scale: float | None = Field(
        None, gt=0, le=MAX_SCALE, allow_inf_nan=False, description="length units per pixel (default 1, with a warning)"
    )
