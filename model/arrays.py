"""Array types and the numerical helpers that several core modules share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numpy.typing costs the function's cold start half a millisecond, for annotations only
    from numpy.typing import NDArray

# `type` aliases are evaluated only when asked for, so NDArray need not exist at run time.
type FloatArray = NDArray[np.float64]
type IntArray = NDArray[np.int64]
type BoolArray = NDArray[np.bool_]


def sigmoid(t: FloatArray) -> FloatArray:
    """1 / (1 + e^-t), computed as exp(-log(1 + e^-t)): logaddexp never overflows, for any sign of t."""
    return np.asarray(np.exp(-np.logaddexp(0.0, -t)))
