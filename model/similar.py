"""Similar cases: the training cases nearest to a record, in the scaler's standardised space.

Brute force over the training rows that travel in the artifact (569 for the public data: about 17,000
multiply-adds a record). A case is a known diagnosis, not a prediction; nearness is the model's
geometry (every feature weighted by its own spread), not a clinical similarity.
"""

from typing import Any, NamedTuple

import numpy as np

from model.arrays import FloatArray, capped
from model.schema import FEATURE_NAMES

LABELS = ("benign", "malignant")
# A record this close to a training row (in standard deviations) is that row.
SAME_ROW = 1e-9


class SimilarCase(NamedTuple):
    diagnosis: str
    distance: float
    features: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "diagnosis": self.diagnosis,
            "distance": self.distance,
            "features": dict(zip(FEATURE_NAMES, self.features, strict=True)),
        }


class SimilarCases(NamedTuple):
    cases: tuple[SimilarCase, ...]
    agreeing: int  # how many share the answer's label
    record_is_training_case: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": [c.as_dict() for c in self.cases],
            "agreeing": self.agreeing,
            "record_is_training_case": self.record_is_training_case,
        }


class CaseBase:
    """The training rows (raw and standardised) and their diagnoses."""

    def __init__(self, x: FloatArray, y: FloatArray, mean: FloatArray, scale: FloatArray) -> None:
        self.x, self.y = x, y.astype(np.int64)
        self.mean, self.scale = mean, scale
        self.z = (x - mean) / scale

    def nearest(self, x: FloatArray, labels: list[str], k: int) -> list[SimilarCases]:
        """The k nearest training cases of each raw row x (n, 30), nearest first; ties by row order."""
        z = (capped(np.atleast_2d(x), self.mean, self.scale) - self.mean) / self.scale
        found = []
        for row, label in zip(z, labels, strict=True):
            diff = self.z - row  # direct differences: no cancellation, exact zero for a training row
            distance = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            order = np.argsort(distance, kind="stable")[:k]
            cases = tuple(
                SimilarCase(LABELS[self.y[i]], float(distance[i]), tuple(float(v) for v in self.x[i])) for i in order
            )
            found.append(
                SimilarCases(
                    cases=cases,
                    agreeing=sum(c.diagnosis == label for c in cases),
                    record_is_training_case=bool(distance[order[0]] <= SAME_ROW),
                )
            )
        return found
