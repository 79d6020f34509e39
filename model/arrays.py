"""Array types and the numerical helpers that several core modules share."""

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numpy.typing costs the function's cold start half a millisecond, for annotations only
    from numpy.typing import NDArray

# `type` aliases are evaluated only when asked for, so NDArray need not exist at run time.
type FloatArray = NDArray[np.float64]
type IntArray = NDArray[np.int64]
type BoolArray = NDArray[np.bool_]


# A million standard deviations: far past where any kernel factor is above exp(-700) or a linear
# model's probability differs from 0 or 1, yet small enough that sums of squares cannot overflow.
Z_LIMIT = 1e6


def capped(x: FloatArray, mean: FloatArray, scale: FloatArray) -> FloatArray:
    """x with each value kept within Z_LIMIT standard deviations: absurd but finite inputs stay finite."""
    return np.asarray(np.clip(x, mean - Z_LIMIT * scale, mean + Z_LIMIT * scale))


def sigmoid(t: FloatArray) -> FloatArray:
    """1 / (1 + e^-t), computed as exp(-log(1 + e^-t)): logaddexp never overflows, for any sign of t."""
    return np.asarray(np.exp(-np.logaddexp(0.0, -t)))
