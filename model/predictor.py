"""The Predictor: calibrated probability, label at an operating point, conformal set, OOD, explanation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from model import artifact as artifact_io
from model import manifest as manifest_io
from model import margin, ood
from model.arrays import FloatArray, sigmoid
from model.errors import UnknownOptionError
from model.explain import explainer_for, shapley
from model.manifest import Manifest
from model.rules import check_rows, soft_warnings
from model.schema import FEATURE_NAMES

LABELS = ("benign", "malignant")
TOP_FEATURES = 5
# A million standard deviations: far past where any kernel factor is above exp(-700) or a linear
# model's probability differs from 0 or 1, yet small enough that sums of squares cannot overflow.
Z_LIMIT = 1e6


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float
    contribution: float
    direction: str  # "malignant" or "benign": which way this feature pushes the log-odds


@dataclass(frozen=True)
class Explanation:
    """Shapley values in calibrated log-odds: base_value + sum(contributions) = log_odds."""

    base_value: float
    log_odds: float
    contributions: dict[str, float]
    top: list[Contribution]


@dataclass(frozen=True)
class Prediction:
    label: str
    probability_malignant: float
    confidence: float  # calibrated probability of the returned label
    log_odds: float
    operating_point: str
    threshold: float
    alpha: float
    prediction_set: list[str]
    indeterminate: bool
    out_of_distribution: bool
    ood_distance: float
    ood_threshold: float
    warnings: list[str] = field(default_factory=list)
    explanation: Explanation | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, unrounded, so that any client can check an explanation."""
        out = {name: getattr(self, name) for name in PLAIN_FIELDS}
        e = self.explanation
        out["explanation"] = (
            None
            if e is None
            else {
                "base_value": e.base_value,
                "log_odds": e.log_odds,
                "contributions": e.contributions,
                "top": [
                    {"feature": c.feature, "value": c.value, "contribution": c.contribution, "direction": c.direction}
                    for c in e.top
                ],
            }
        )
        return out


PLAIN_FIELDS = tuple(f.name for f in fields(Prediction) if f.name != "explanation")


class Predictor:
    """Numpy-only inference over a verified artifact. Load once, predict many times."""

    def __init__(self, art: artifact_io.Artifact) -> None:
        self.artifact = art
        self.manifest: Manifest = art.manifest
        a = art.arrays
        self._mean, self._scale = a["scaler_mean"], a["scaler_scale"]
        self._x_low, self._x_high = self._mean - Z_LIMIT * self._scale, self._mean + Z_LIMIT * self._scale
        self._slope, self._offset = (float(v) for v in a["calibration"])
        self.margin_model = margin.from_arrays(self.manifest.model.kind, a)
        self.explainer = explainer_for(self.margin_model, a["background"], a["background_weights"])
        self._ood = ood.OodCheck.from_arrays(a)
        self.operating_points: dict[str, float] = {
            name: op.threshold for name, op in self.manifest.operating_points.items()
        }
        self.conformal: dict[float, tuple[float, float]] = {
            level.alpha: (level.malignant_if_p_at_least, level.benign_if_p_at_most)
            for level in self.manifest.conformal.levels
        }
        self.base_value = self._slope * self.explainer.base_value + self._offset
        self.training_min = np.array([f.training_min for f in self.manifest.features])
        self.training_max = np.array([f.training_max for f in self.manifest.features])

    @classmethod
    def load(cls, directory: str | Path) -> Predictor:
        return cls(artifact_io.load(directory))

    @property
    def version(self) -> str:
        return self.artifact.version

    def standardise(self, x: FloatArray) -> FloatArray:
        """(x - mean) / scale, capped at +/- Z_LIMIT so that absurd but finite inputs stay finite."""
        # Capping x rather than z: the same result, without an overflow to clean up.
        return np.asarray((np.clip(np.atleast_2d(x), self._x_low, self._x_high) - self._mean) / self._scale)

    def log_odds(self, x: FloatArray) -> FloatArray:
        """Calibrated log-odds of malignancy for raw rows x (n, 30)."""
        return self._slope * self.margin_model.margin(self.standardise(x)) + self._offset

    def probability(self, x: FloatArray) -> FloatArray:
        return sigmoid(self.log_odds(x))

    def explain(self, x: FloatArray) -> list[Explanation]:
        """Exact contributions of each raw row x (n, 30) to its calibrated log-odds."""
        z = self.standardise(x)
        return self._explain(np.atleast_2d(x), z, self.margin_model.margin(z))

    def _explain(self, x: FloatArray, z: FloatArray, margins: FloatArray) -> list[Explanation]:
        phi = shapley(self.explainer, z, margins, scale=self._slope)
        result = []
        for row, contributions, m in zip(x, phi, margins, strict=True):
            order = np.argsort(-np.abs(contributions), kind="stable")[:TOP_FEATURES]
            top = [
                Contribution(
                    FEATURE_NAMES[j],
                    float(row[j]),
                    float(contributions[j]),
                    "malignant" if contributions[j] > 0 else "benign",
                )
                for j in order
            ]
            result.append(
                Explanation(
                    base_value=self.base_value,
                    log_odds=float(self._slope * m + self._offset),
                    contributions={n: float(c) for n, c in zip(FEATURE_NAMES, contributions, strict=True)},
                    top=top,
                )
            )
        return result

    def predict(
        self,
        x: FloatArray,
        operating_point: str = "balanced",
        alpha: float = 0.05,
        explain: bool = False,
        field_prefix: str = "",
    ) -> list[Prediction]:
        """Predictions for raw rows x (n, 30) in model order, after the hard input rules.

        Raises InputError naming each broken rule (`field_prefix` may hold "{i}", the row index) and
        UnknownOptionError for an operating point or alpha the artifact does not define.
        """
        if operating_point not in self.operating_points:
            raise UnknownOptionError("operating_point", operating_point, sorted(self.operating_points))
        if alpha not in self.conformal:
            raise UnknownOptionError("alpha", alpha, sorted(self.conformal))
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        check_rows(x, field_prefix)
        threshold = self.operating_points[operating_point]
        malignant_from, benign_to = self.conformal[alpha]
        z = self.standardise(x)
        margins = self.margin_model.margin(z)
        log_odds = self._slope * margins + self._offset
        p = sigmoid(log_odds)
        distance, flagged, reasons = self._ood.assess(x)
        explanations: list[Explanation | None] = list(self._explain(x, z, margins)) if explain else [None] * len(x)
        warnings = soft_warnings(x, self.training_min, self.training_max, reasons)
        ood_threshold = self._ood.threshold
        result = []
        rows = zip(log_odds, p, distance, flagged, explanations, warnings, strict=True)
        for lo, pm, dist, is_ood, expl, warned in rows:
            label = LABELS[int(pm >= threshold)]
            prediction_set = [
                name for name, ok in zip(LABELS, (pm <= benign_to, pm >= malignant_from), strict=True) if ok
            ]
            result.append(
                Prediction(
                    label=label,
                    probability_malignant=float(pm),
                    confidence=float(pm if label == "malignant" else 1.0 - pm),
                    log_odds=float(lo),
                    operating_point=operating_point,
                    threshold=threshold,
                    alpha=alpha,
                    prediction_set=prediction_set,
                    indeterminate=len(prediction_set) != 1,
                    out_of_distribution=bool(is_ood),
                    ood_distance=float(dist),
                    ood_threshold=ood_threshold,
                    warnings=warned,
                    explanation=expl,
                )
            )
        return result

    def card(self) -> dict[str, Any]:
        """The public description of the model: schema, metrics summary, operating points."""
        return manifest_io.card(self.manifest)
