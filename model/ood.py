"""The out-of-distribution distance, shared by training (to fit its threshold) and the Predictor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from model.arrays import FloatArray

RATIO_CAP = 1e300


def distance(arrays: Mapping[str, FloatArray], x: FloatArray) -> FloatArray:
    """Mahalanobis distance of standardised log1p(x / median) under a Ledoit-Wolf precision.

    The ratio is capped at RATIO_CAP so that absurd but finite inputs give a large, finite distance.
    """
    median = arrays["ood_median"]
    ratio = np.minimum(np.atleast_2d(x), median * RATIO_CAP) / median
    u = (np.log1p(ratio) - arrays["ood_center"]) / arrays["ood_scale"]
    squared = np.sum((u @ arrays["ood_precision"]) * u, axis=1)
    return np.asarray(np.sqrt(np.maximum(squared, 0.0)))


@dataclass(frozen=True)
class OodCheck:
    """The fitted statistics and the threshold above which a row is out of distribution."""

    arrays: Mapping[str, FloatArray]
    threshold: float

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, FloatArray]) -> OodCheck:
        return cls({k: v for k, v in arrays.items() if k.startswith("ood_")}, float(arrays["ood_threshold"]))

    def distance(self, x: FloatArray) -> FloatArray:
        return distance(self.arrays, x)
