"""Array types and the numerical helpers that several core modules share."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def sigmoid(t: FloatArray) -> FloatArray:
    """1 / (1 + e^-t), computed as exp(-log(1 + e^-t)): logaddexp never overflows, for any sign of t."""
    return np.asarray(np.exp(-np.logaddexp(0.0, -t)))
