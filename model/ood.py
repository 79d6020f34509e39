"""The out-of-distribution distance, shared by training (to fit its threshold) and the Predictor."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def distance(arrays: Mapping[str, FloatArray], x: FloatArray) -> FloatArray:
    """Mahalanobis distance of standardised log1p(x / median) under a Ledoit-Wolf precision.

    The ratio is capped at 1e300 so that absurd but finite inputs give a large, finite distance.
    """
    with np.errstate(over="ignore"):
        ratio = np.minimum(np.atleast_2d(x) / arrays["ood_median"], 1e300)
    u = (np.log1p(ratio) - arrays["ood_center"]) / arrays["ood_scale"]
    squared = np.einsum("nd,de,ne->n", u, arrays["ood_precision"], u)
    return np.asarray(np.sqrt(np.maximum(squared, 0.0)))
