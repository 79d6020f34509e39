"""The out-of-distribution check, shared by training (to fit its thresholds) and the Predictor.

Each feature is read as log(x + floor), standardised: a value typed in the wrong unit moves it by
log(10) whichever way the slip goes, so slips down are as visible as slips up (log1p(x / median),
used before, squeezed values below the median together). A row is out of distribution when either

- its Mahalanobis distance under the training covariance passes a cross-fitted quantile of held-out
  distances: one feature that disagrees with the others it usually moves with; or
- one feature lies further beyond the training range (in standard deviations) than held-out rows
  ever do at the cross-fitted quantile: a value no training row came near.

The data are heavy-tailed, so both thresholds are quantiles of held-out rows, never chi-square.
"""

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from model.arrays import BoolArray, FloatArray
from model.schema import FEATURE_NAMES

# Beyond this, a value is far outside anything measured; capping keeps absurd inputs finite.
VALUE_CAP = 1e300
# A feature is named as looking wrong when its conditional residual passes this many SDs.
RESIDUAL_SDS = 4.0
NAMED_AT_MOST = 3


def standardised(arrays: Mapping[str, FloatArray], x: FloatArray) -> FloatArray:
    """z = (log(x + floor) - centre) / scale, per feature."""
    capped = np.minimum(np.atleast_2d(x), VALUE_CAP)
    return np.asarray((np.log(capped + arrays["ood_floor"]) - arrays["ood_center"]) / arrays["ood_scale"])


def distance(arrays: Mapping[str, FloatArray], z: FloatArray) -> FloatArray:
    """Mahalanobis distance of standardised rows z under the training precision."""
    squared = np.sum((z @ arrays["ood_precision"]) * z, axis=1)
    return np.asarray(np.sqrt(np.maximum(squared, 0.0)))


def range_excess(arrays: Mapping[str, FloatArray], z: FloatArray) -> FloatArray:
    """How far, in SDs, the row's most extreme feature lies beyond the training range (negative: inside)."""
    return np.asarray(np.maximum(arrays["ood_low"] - z, z - arrays["ood_high"]).max(axis=1))


class OodCheck(NamedTuple):
    """The fitted statistics and the two thresholds above which a row is out of distribution."""

    arrays: Mapping[str, FloatArray]
    threshold: float
    range_threshold: float

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, FloatArray]) -> "OodCheck":
        own = {k: v for k, v in arrays.items() if k.startswith("ood_")}
        return cls(own, float(arrays["ood_threshold"]), float(arrays["ood_range_threshold"]))

    def assess(self, x: FloatArray) -> tuple[FloatArray, BoolArray, list[list[str]]]:
        """(distance, flagged, reasons in words for each flagged row) for raw rows x (n, 30)."""
        z = standardised(self.arrays, x)
        dist = distance(self.arrays, z)
        excess = range_excess(self.arrays, z)
        flagged = (dist > self.threshold) | (excess > self.range_threshold)
        reasons = [self._reasons(z[i], x[i]) if flagged[i] else [] for i in range(len(z))]
        return dist, flagged, reasons

    def _reasons(self, z: FloatArray, row: FloatArray) -> list[str]:
        """The features that look wrong, named one at a time.

        (P z)_j / sqrt(P_jj) is feature j's residual given every other feature, in SDs, and its square is
        how much the squared distance falls if j alone took the value the others predict. The feature
        that explains most is named and set to that value before the next is sought, so that features
        which only look odd next to the culprit are not blamed too.
        """
        precision = self.arrays["ood_precision"]
        low, high = self.arrays["ood_low"], self.arrays["ood_high"]
        words: list[str] = []
        beyond = np.maximum(low - z, z - high)
        for j in np.flatnonzero(beyond > self.range_threshold)[:NAMED_AT_MOST]:
            side = "below" if z[j] < low[j] else "above"
            words.append(f"{FEATURE_NAMES[j]}={row[j]:g} lies far {side} every training value: a unit or typing slip?")
        z = z.copy()
        named = {int(j) for j in np.flatnonzero(beyond > self.range_threshold)[:NAMED_AT_MOST]}
        while len(words) < NAMED_AT_MOST:
            pulled = precision @ z
            residual = pulled / np.sqrt(np.diag(precision))
            residual[list(named)] = 0.0
            j = int(np.argmax(np.abs(residual)))
            if abs(residual[j]) <= RESIDUAL_SDS:
                break
            way = "smaller" if residual[j] < 0 else "larger"
            words.append(
                f"{FEATURE_NAMES[j]}={row[j]:g} is much {way} than the other features suggest "
                f"({abs(residual[j]):.1f} SD): a unit or typing slip?"
            )
            named.add(j)
            z[j] -= pulled[j] / precision[j, j]
        return words or ["the combination of values is unlike any training row, though no single feature stands out"]
