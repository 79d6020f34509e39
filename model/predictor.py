"""The Predictor: calibrated probability, label at an operating point, conformal set, OOD, explanation."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from model import artifact as artifact_io
from model import manifest as manifest_io
from model import margin, ood
from model.arrays import BoolArray, FloatArray, capped, sigmoid
from model.errors import InputError, UnknownOptionError
from model.explain import explainer_for, shapley
from model.manifest import Manifest
from model.rules import check_rows, soft_warnings
from model.schema import DEFAULT_ALPHA, DEFAULT_OPERATING_POINT, FEATURE_NAMES

if TYPE_CHECKING:  # the counterfactual search and the case index are imported on their first use, not at init
    from model.counterfactual import Counterfactual, Space
    from model.similar import CaseBase, SimilarCases

LABELS = ("benign", "malignant")
TOP_FEATURES = 5


class Contribution(NamedTuple):
    feature: str
    value: float
    contribution: float
    direction: str  # "malignant" or "benign": which way this feature pushes the log-odds


class Explanation(NamedTuple):
    """Shapley values in calibrated log-odds: base_value + sum(contributions) = log_odds."""

    base_value: float
    log_odds: float
    contributions: dict[str, float]
    top: list[Contribution]

    @classmethod
    def of_row(cls, row: FloatArray, phi: FloatArray, base_value: float, log_odds: float) -> "Explanation":
        order = np.argsort(-np.abs(phi), kind="stable")[:TOP_FEATURES]
        top = [
            Contribution(FEATURE_NAMES[j], float(row[j]), float(phi[j]), "malignant" if phi[j] > 0 else "benign")
            for j in order
        ]
        contributions = {n: float(c) for n, c in zip(FEATURE_NAMES, phi, strict=True)}
        return cls(base_value=base_value, log_odds=log_odds, contributions=contributions, top=top)

    def as_dict(self) -> dict[str, Any]:
        return {
            "base_value": self.base_value,
            "log_odds": self.log_odds,
            "contributions": self.contributions,
            "top": [
                {"feature": c.feature, "value": c.value, "contribution": c.contribution, "direction": c.direction}
                for c in self.top
            ],
        }


@dataclass(frozen=True, eq=False)  # arrays have no truth value: batches compare by identity
class Predictions:
    """A batch's results as arrays, one row per record; the answers, the V2 outputs and the metrics
    all read these, and `batch[i]` (or iteration) gives one record's view."""

    x: FloatArray  # the rows as given, (n, 30)
    operating_point: str
    threshold: float
    alpha: float
    ood_threshold: float
    probability: FloatArray  # calibrated P(malignant)
    log_odds: FloatArray
    malignant: BoolArray  # the label at the operating point
    in_set: BoolArray  # (n, 2): benign in the conformal set, malignant in it
    out_of_distribution: BoolArray
    ood_distance: FloatArray
    warnings: list[list[str]]
    base_value: float
    contributions: FloatArray | None  # (n, 30) Shapley values when explained
    counterfactuals: "list[Counterfactual] | None" = None  # when asked for
    similar_cases: "list[SimilarCases] | None" = None  # when asked for

    @property
    def indeterminate(self) -> BoolArray:
        return np.asarray(self.in_set.sum(axis=1) != 1)

    def __len__(self) -> int:
        return len(self.probability)

    def __getitem__(self, i: int) -> "Prediction":
        return Prediction(self, i)

    def __iter__(self) -> Iterator["Prediction"]:
        return (Prediction(self, i) for i in range(len(self)))


class Prediction:
    """One record's view of a Predictions batch."""

    __slots__ = ("batch", "i")

    def __init__(self, batch: Predictions, i: int) -> None:
        self.batch, self.i = batch, i

    @property
    def label(self) -> str:
        return LABELS[int(self.batch.malignant[self.i])]

    @property
    def probability_malignant(self) -> float:
        return float(self.batch.probability[self.i])

    @property
    def confidence(self) -> float:
        """The calibrated probability of the returned label."""
        p = self.batch.probability[self.i]
        return float(p if self.batch.malignant[self.i] else 1.0 - p)

    @property
    def log_odds(self) -> float:
        return float(self.batch.log_odds[self.i])

    @property
    def prediction_set(self) -> list[str]:
        return [name for name, ok in zip(LABELS, self.batch.in_set[self.i], strict=True) if ok]

    @property
    def indeterminate(self) -> bool:
        return int(self.batch.in_set[self.i].sum()) != 1

    @property
    def out_of_distribution(self) -> bool:
        return bool(self.batch.out_of_distribution[self.i])

    @property
    def ood_distance(self) -> float:
        return float(self.batch.ood_distance[self.i])

    @property
    def warnings(self) -> list[str]:
        return self.batch.warnings[self.i]

    @property
    def explanation(self) -> Explanation | None:
        b = self.batch
        if b.contributions is None:
            return None
        return Explanation.of_row(b.x[self.i], b.contributions[self.i], b.base_value, self.log_odds)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, unrounded, so that any client can check an explanation: one per field of
        ANSWER, in its order."""
        return {field.name: field.value(self) for field in ANSWER}


class AnswerField(NamedTuple):
    """One field of a record's answer, declared once: its value, and from it the answer's JSON
    (Prediction.as_dict), its OpenAPI schema (handler.responses), the CLI's CSV columns and the
    documentation's table."""

    name: str
    kind: str  # its JSON value: "label", "number", "text", "flag", "labels", "texts", or a documented object
    description: str
    value: Callable[[Prediction], Any]
    asked_by: str | None = None  # the request option that adds it (null otherwise); None: always present
    in_csv: bool = True  # a CSV column of `python -m model predict`


def _explanation(p: Prediction) -> dict[str, Any] | None:
    return None if (e := p.explanation) is None else e.as_dict()


def _counterfactual(p: Prediction) -> dict[str, Any] | None:
    return None if (c := p.batch.counterfactuals) is None else c[p.i].as_dict(p.label)


def _similar_cases(p: Prediction) -> dict[str, Any] | None:
    return None if (s := p.batch.similar_cases) is None else s[p.i].as_dict()


F = AnswerField
ANSWER: tuple[AnswerField, ...] = (
    F("label", "label", "benign or malignant, at the operating point", lambda p: p.label),
    F("probability_malignant", "number", "calibrated probability of malignancy", lambda p: p.probability_malignant),
    F("confidence", "number", "calibrated probability of the returned label", lambda p: p.confidence),
    F("log_odds", "number", "calibrated log-odds of malignancy", lambda p: p.log_odds, in_csv=False),
    F("operating_point", "text", "whose threshold decided the label", lambda p: p.batch.operating_point),
    F("threshold", "number", "malignant when probability_malignant >= threshold", lambda p: p.batch.threshold),
    F("alpha", "number", "conformal miscoverage level of prediction_set", lambda p: p.batch.alpha, in_csv=False),
    F("prediction_set", "labels", "the conformal prediction set at alpha", lambda p: p.prediction_set),
    F("indeterminate", "flag", "the conformal set does not hold exactly one label", lambda p: p.indeterminate),
    F("out_of_distribution", "flag", "outside what the model was trained on", lambda p: p.out_of_distribution),
    F("ood_distance", "number", "Mahalanobis distance behind that flag", lambda p: p.ood_distance, in_csv=False),
    F("ood_threshold", "number", "the distance flagged beyond", lambda p: p.batch.ood_threshold, in_csv=False),
    F("warnings", "texts", "plain-language warnings of the soft rules, at most ten", lambda p: p.warnings),
    # Objects: the CLI writes them as columns of their own (cohort.cli)
    F("explanation", "ExplanationOut", "exact Shapley values in log-odds", _explanation, "explain", False),
    F(
        "counterfactual",
        "CounterfactualOut",
        "the nearest change across the threshold",
        _counterfactual,
        "counterfactual",
        False,
    ),
    F("similar_cases", "SimilarCasesOut", "the nearest training cases", _similar_cases, "similar_cases", False),
)


class CaseOptions(NamedTuple):
    """What a request asks for beyond the prediction: 0 asks for nothing."""

    counterfactual_features: int = 0  # at most this many features changed (up to COUNTERFACTUAL_FEATURES_MAX)
    similar: int = 0  # this many similar training cases (up to SIMILAR_CASES_MAX)


class Predictor:
    """Numpy-only inference over a verified artifact. Load once, predict many times."""

    def __init__(self, art: artifact_io.Artifact) -> None:
        self.artifact = art
        self.manifest: Manifest = art.manifest
        a = art.arrays
        self._mean, self._scale = a["scaler_mean"], a["scaler_scale"]
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

    @cached_property
    def space(self) -> "Space":
        """What the counterfactual search needs, on first use: not on the cold start."""
        from model.counterfactual import Space

        return Space(
            self._mean, self._scale, self.training_min, self.training_max, self._slope, self._offset, self.margin_model
        )

    @cached_property
    def cases(self) -> "CaseBase":
        """The training cases, standardised on first use: not on the cold start."""
        from model.similar import CaseBase

        a = self.artifact.arrays
        return CaseBase(a["training_x"], a["training_y"], self._mean, self._scale)

    @classmethod
    def load(cls, directory: str | Path) -> "Predictor":
        return cls(artifact_io.load(directory))

    @property
    def version(self) -> str:
        return self.artifact.version

    def standardise(self, x: FloatArray) -> FloatArray:
        """(x - mean) / scale, capped at +/- Z_LIMIT so that absurd but finite inputs stay finite."""
        # Capping x rather than z: the same result, without an overflow to clean up.
        return np.asarray((capped(np.atleast_2d(x), self._mean, self._scale) - self._mean) / self._scale)

    def log_odds(self, x: FloatArray) -> FloatArray:
        """Calibrated log-odds of malignancy for raw rows x (n, 30)."""
        return self._slope * self.margin_model.margin(self.standardise(x)) + self._offset

    def probability(self, x: FloatArray) -> FloatArray:
        return sigmoid(self.log_odds(x))

    def explain(self, x: FloatArray) -> list[Explanation]:
        """Exact contributions of each raw row x (n, 30) to its calibrated log-odds."""
        x = np.atleast_2d(x)
        z = self.standardise(x)
        margins = self.margin_model.margin(z)
        phi = shapley(self.explainer, z, margins, scale=self._slope)
        log_odds = self._slope * margins + self._offset
        return [
            Explanation.of_row(row, p, self.base_value, float(lo)) for row, p, lo in zip(x, phi, log_odds, strict=True)
        ]

    def predict(
        self,
        x: FloatArray,
        operating_point: str = DEFAULT_OPERATING_POINT,
        alpha: float = DEFAULT_ALPHA,
        explain: bool = False,
        field_prefix: str = "",
    ) -> Predictions:
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
        return Predictions(
            x=x,
            operating_point=operating_point,
            threshold=threshold,
            alpha=alpha,
            ood_threshold=self._ood.threshold,
            probability=p,
            log_odds=log_odds,
            malignant=p >= threshold,
            in_set=np.stack([p <= benign_to, p >= malignant_from], axis=1),
            out_of_distribution=np.asarray(flagged, dtype=bool),
            ood_distance=distance,
            warnings=soft_warnings(x, self.training_min, self.training_max, reasons),
            base_value=self.base_value,
            contributions=shapley(self.explainer, z, margins, scale=self._slope) if explain else None,
        )

    def with_cases(self, batch: Predictions, options: CaseOptions) -> Predictions:
        """The batch with the counterfactuals and similar cases `options` asks for."""
        labels = [LABELS[int(m)] for m in batch.malignant]
        counterfactuals = (
            [
                self.counterfactual(row, label, batch.operating_point, options.counterfactual_features)
                for row, label in zip(batch.x, labels, strict=True)
            ]
            if options.counterfactual_features
            else None
        )
        return replace(
            batch,
            counterfactuals=counterfactuals,
            similar_cases=self.cases.nearest(batch.x, labels, options.similar) if options.similar else None,
        )

    def counterfactual(self, x: FloatArray, label: str, operating_point: str, max_features: int) -> "Counterfactual":
        """The nearest change of at most `max_features` features that the model answers otherwise, verified."""
        from model import counterfactual as counterfactual_io

        threshold = self.operating_points[operating_point]
        changed, distance = counterfactual_io.search(self.space, x, threshold, max_features)
        if changed is not None:
            # The predictor itself must give the other label, on a record that passes every hard rule.
            try:
                after = self.predict(changed, operating_point)
            except InputError:
                after = None
            if after is not None and LABELS[int(after.malignant[0])] != label:
                return counterfactual_io.Counterfactual(
                    found=True,
                    changes=counterfactual_io.changes_of(x, changed),
                    label=LABELS[int(after.malignant[0])],
                    probability_malignant=float(after.probability[0]),
                    distance=distance,
                    max_features=max_features,
                )
        return counterfactual_io.Counterfactual(False, (), None, None, None, max_features)

    def card(self) -> dict[str, Any]:
        """The public description of the model: schema, metrics summary, operating points."""
        return manifest_io.card(self.manifest)
