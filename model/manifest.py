"""`manifest.json` as typed, frozen values: parsed once when an artifact loads, read by attribute after.

Every field the code reads is checked here for presence and type, and a failure names its dotted
path, what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from model.arrays import FloatArray
from model.errors import ManifestError


@dataclass(frozen=True)
class Summary:
    """A cross-validated figure: mean and SD over `n` outer folds."""

    mean: float
    std: float
    n: int


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    description: str
    unit: str
    aliases: tuple[str, ...]
    training_min: float
    training_max: float


@dataclass(frozen=True)
class Example:
    """A real training row, used by the docs, the page and the release checks."""

    id: str
    features: Mapping[str, float]


@dataclass(frozen=True)
class Golden:
    """What the model answers for one example at one operating point; every release must reproduce it."""

    example: str
    operating_point: str
    label: str
    probability_malignant: float
    log_odds: float


@dataclass(frozen=True)
class Calibration:
    """Calibrated log-odds = slope * margin + offset."""

    method: str
    slope: float
    offset: float


@dataclass(frozen=True)
class ModelSpec:
    family: str
    title: str
    kind: str  # "rbf" or "linear": which margin model the arrays hold
    estimator: str
    hyperparameters: Mapping[str, Any]
    calibration: Calibration


@dataclass(frozen=True)
class OperatingPoint:
    name: str
    threshold: float
    target: str
    cv_sensitivity: Summary
    cv_specificity: Summary


@dataclass(frozen=True)
class ConformalLevel:
    alpha: float
    malignant_if_p_at_least: float
    benign_if_p_at_most: float
    cv: Mapping[str, Summary]  # coverage_malignant, coverage_benign, indeterminate


@dataclass(frozen=True)
class Conformal:
    method: str
    levels: tuple[ConformalLevel, ...]


@dataclass(frozen=True)
class OutOfDistribution:
    method: str
    threshold: float
    threshold_rule: str
    cv: Mapping[str, Summary]  # false_flag_rate and detection rates, measured in the outer folds


@dataclass(frozen=True)
class MetricsSummary:
    protocol: str
    scores: Mapping[str, Summary]  # accuracy, auc, sensitivity, specificity, brier, log_loss, ece


@dataclass(frozen=True)
class ExplanationSpec:
    method: str
    background: str
    background_size: int


@dataclass(frozen=True)
class DataSpec:
    source: str
    n_rows: int
    n_malignant: int
    n_benign: int
    sha256: str


@dataclass(frozen=True)
class TrainingSpec:
    profile: str
    seed: int
    selection_rule: str


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_version: str
    disclaimer: str
    features: tuple[FeatureSpec, ...]
    examples: Mapping[str, Example]
    golden: tuple[Golden, ...]
    model: ModelSpec
    operating_points: Mapping[str, OperatingPoint]
    conformal: Conformal
    out_of_distribution: OutOfDistribution
    metrics: MetricsSummary
    explanation: ExplanationSpec
    data: DataSpec
    training: TrainingSpec
    libraries: Mapping[str, str]
    platform: Mapping[str, Any]  # the BLAS library and kernel training ran on
    files: Mapping[str, str]  # file name -> sha256
    document: Mapping[str, Any]  # the JSON as read, for the public model card

    @cached_property
    def training_min(self) -> FloatArray:
        return np.array([f.training_min for f in self.features])

    @cached_property
    def training_max(self) -> FloatArray:
        return np.array([f.training_max for f in self.features])


class _Reader:
    """Typed access to one JSON object; every failure names the dotted path."""

    def __init__(self, document: object, path: str) -> None:
        if not isinstance(document, dict):
            raise ManifestError(f"manifest field {path or '(top level)'} must be an object, got {_kind(document)}")
        self.doc: dict[str, Any] = document
        self.path = path

    def _get(self, key: str) -> Any:
        if key not in self.doc:
            raise ManifestError(f"manifest field {self._at(key)} is missing; retrain with this version of the code")
        return self.doc[key]

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _wrong(self, key: str, expected: str) -> ManifestError:
        return ManifestError(f"manifest field {self._at(key)} must be {expected}, got {_kind(self.doc[key])}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._wrong(key, "a number")
        return float(value)

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, "a list of strings")
        return tuple(value)

    def obj(self, key: str) -> _Reader:
        return _Reader(self._get(key), self._at(key))

    def items(self, key: str) -> list[_Reader]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self._wrong(key, "a list")
        return [_Reader(item, f"{self._at(key)}[{i}]") for i, item in enumerate(value)]

    def numbers(self) -> dict[str, float]:
        return {key: self.number(key) for key in self.doc}

    def entries(self) -> list[tuple[str, _Reader]]:
        return [(key, self.obj(key)) for key in self.doc]

    def share(self, key: str) -> float:
        """A number strictly between 0 and 1: a probability threshold or a miscoverage level."""
        value = self.number(key)
        if not 0.0 < value < 1.0:
            raise ManifestError(f"manifest field {self._at(key)} must lie in (0, 1), got {value}")
        return value

    def probability(self, key: str) -> float:
        """A number in [0, 1]."""
        value = self.number(key)
        if not 0.0 <= value <= 1.0:
            raise ManifestError(f"manifest field {self._at(key)} must lie in [0, 1], got {value}")
        return value

    def summary(self, key: str) -> Summary:
        s = self.obj(key)
        return Summary(mean=s.number("mean"), std=s.number("std"), n=s.integer("n"))

    def summaries(self, prefix: str) -> dict[str, Summary]:
        """Every `prefix...` field that holds a summary, keyed without the prefix."""
        return {key.removeprefix(prefix): self.summary(key) for key in self.doc if key.startswith(prefix)}


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _feature(f: _Reader) -> FeatureSpec:
    return FeatureSpec(
        name=f.text("name"),
        description=f.text("description"),
        unit=f.text("unit"),
        aliases=f.strings("aliases"),
        training_min=f.number("training_min"),
        training_max=f.number("training_max"),
    )


def _model(model: _Reader) -> ModelSpec:
    calibration = model.obj("calibration")
    return ModelSpec(
        family=model.text("family"),
        title=model.text("title"),
        kind=model.text("kind"),
        estimator=model.text("estimator"),
        hyperparameters=model.obj("hyperparameters").doc,
        calibration=Calibration(
            method=calibration.text("method"),
            slope=calibration.number("slope"),
            offset=calibration.number("offset"),
        ),
    )


def _operating_point(name: str, op: _Reader) -> OperatingPoint:
    return OperatingPoint(
        name=name,
        threshold=op.share("threshold"),
        target=op.text("target"),
        cv_sensitivity=op.summary("cv_sensitivity"),
        cv_specificity=op.summary("cv_specificity"),
    )


def _conformal(conformal: _Reader) -> Conformal:
    levels = tuple(
        ConformalLevel(
            alpha=level.share("alpha"),
            malignant_if_p_at_least=level.probability("malignant_if_p_at_least"),
            benign_if_p_at_most=level.probability("benign_if_p_at_most"),
            cv=level.summaries("cv_"),
        )
        for level in conformal.items("levels")
    )
    return Conformal(method=conformal.text("method"), levels=levels)


def _ood(ood: _Reader) -> OutOfDistribution:
    return OutOfDistribution(
        method=ood.text("method"),
        threshold=ood.number("threshold"),
        threshold_rule=ood.text("threshold_rule"),
        cv=ood.summaries("cv_"),
    )


def _data(data: _Reader) -> DataSpec:
    return DataSpec(
        source=data.text("source"),
        n_rows=data.integer("n_rows"),
        n_malignant=data.integer("n_malignant"),
        n_benign=data.integer("n_benign"),
        sha256=data.text("sha256"),
    )


def parse(document: object) -> Manifest:
    """A Manifest from the decoded JSON of `manifest.json`; raises ManifestError naming the field."""
    top = _Reader(document, "")
    metrics, explanation, training = top.obj("metrics"), top.obj("explanation"), top.obj("training")
    return Manifest(
        format_version=top.integer("format_version"),
        model_version=top.text("model_version"),
        disclaimer=top.text("disclaimer"),
        features=tuple(_feature(f) for f in top.items("features")),
        examples={
            name: Example(id=e.text("id"), features=e.obj("features").numbers())
            for name, e in top.obj("examples").entries()
        },
        golden=tuple(
            Golden(
                example=g.text("example"),
                operating_point=g.text("operating_point"),
                label=g.text("label"),
                probability_malignant=g.probability("probability_malignant"),
                log_odds=g.number("log_odds"),
            )
            for g in top.items("golden")
        ),
        model=_model(top.obj("model")),
        operating_points={name: _operating_point(name, op) for name, op in top.obj("operating_points").entries()},
        conformal=_conformal(top.obj("conformal")),
        out_of_distribution=_ood(top.obj("out_of_distribution")),
        metrics=MetricsSummary(
            protocol=metrics.text("protocol"),
            scores={key: metrics.summary(key) for key in metrics.doc if key != "protocol"},
        ),
        explanation=ExplanationSpec(
            method=explanation.text("method"),
            background=explanation.text("background"),
            background_size=explanation.integer("background_size"),
        ),
        data=_data(top.obj("data")),
        training=TrainingSpec(
            profile=training.text("profile"),
            seed=training.integer("seed"),
            selection_rule=training.text("selection_rule"),
        ),
        libraries={key: str(value) for key, value in top.obj("libraries").doc.items()},
        platform=top.obj("platform").doc,
        files={key: str(value) for key, value in top.obj("files").doc.items()},
        document=top.doc,
    )
