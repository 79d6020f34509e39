"""Input drift and result mix over a window of predictions, as counts and sums only.

A window keeps no record, probability or flag of any one prediction: only how many fell in each
bin. It reports once it holds at least `size` predictions from at least `min_requests` requests,
then starts again, so what it reports describes a crowd, never one caller.

Drift per feature, against the training distribution stored in the artifact:
- shift: the window's mean of (x - training mean) / training SD;
- PSI, the population stability index over the training deciles: sum (o - e) ln(o / e).

Performance estimated without labels (confidence-based, as NannyML's CBPE): with calibrated
probabilities p, the chance that a prediction is right is p when it says malignant and 1 - p when it
says benign. Their mean is the window's estimated accuracy; the expected sensitivity is the sum of p
over predictions said malignant over the sum of p over all, the expected specificity the same with
1 - p over those said benign. It assumes calibration still holds: a change in how the features relate
to the outcome passes unseen (`python -m model evaluate` judges that, with labels).
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from model.arrays import BoolArray, FloatArray
from model.schema import FEATURE_NAMES

HISTOGRAM_BINS = 10
# Empty bins would make ln(o / e) infinite; half a count stands in, as usual for PSI.
EMPTY_BIN = 0.5


def decile_edges(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(interior edges (d, 9), expected share per bin (d, 10)) of training rows x: what training stores."""
    edges = np.quantile(x, np.linspace(0.1, 0.9, 9), axis=0).T
    counts = np.stack(
        [np.bincount(np.searchsorted(e, col, side="right"), minlength=10) for e, col in zip(edges, x.T, strict=True)]
    )
    return np.ascontiguousarray(edges), counts / len(x)


def bin_counts(x: FloatArray, edges: FloatArray) -> np.ndarray:
    """(d, 10) counts of rows x in each feature's training decile bin."""
    d = edges.shape[0]
    # Each value's bin, all features at once: the number of that feature's edges at or below it.
    which = (edges[None, :, :] <= np.atleast_2d(x)[:, :, None]).sum(axis=2) + 10 * np.arange(d)
    return np.bincount(which.ravel(), minlength=d * 10).reshape(d, 10)


def psi(counts: np.ndarray, n: int, expected: FloatArray) -> FloatArray:
    """Each feature's population stability index from its (d, 10) bin counts over n rows."""
    observed = np.maximum(counts, EMPTY_BIN) / n
    floor = np.maximum(expected, EMPTY_BIN / n)
    return np.asarray(np.sum((observed - floor) * np.log(observed / floor), axis=1))


def psi_of(x: FloatArray, edges: FloatArray, expected: FloatArray) -> FloatArray:
    """Each feature's PSI for rows x against the training deciles."""
    return psi(bin_counts(x, edges), len(np.atleast_2d(x)), expected)


class Results(NamedTuple):
    """One request's results, row by row: what a window counts of them."""

    probability: FloatArray
    malignant: BoolArray
    indeterminate: BoolArray
    out_of_distribution: BoolArray


class WindowReport(NamedTuple):
    """What one window says: counts, shares, the probability histogram and each feature's drift."""

    predictions: int
    requests: int
    counts: dict[str, int]
    histogram: list[int]
    shift: dict[str, float]
    psi: dict[str, float]
    latency_ms_mean: float  # the app's own time per request, from the route to the answer
    latency_ms_max: float
    estimated: dict[str, float]  # accuracy, sensitivity, specificity, no labels

    @property
    def largest_psi(self) -> tuple[str, float]:
        name = max(self.psi, key=lambda k: self.psi[k])
        return name, self.psi[name]

    def fields(self) -> dict[str, Any]:
        """Flat fields for one log line, queryable one by one in CloudWatch Logs Insights."""
        out: dict[str, Any] = {"window_predictions": self.predictions, "window_requests": self.requests}
        out.update(latency_ms_mean=round(self.latency_ms_mean, 3), latency_ms_max=round(self.latency_ms_max, 3))
        out.update({f"count_{k}": v for k, v in self.counts.items()})
        out.update({f"probability_bin_{i}": v for i, v in enumerate(self.histogram)})
        out.update({f"shift_{k}": round(v, 6) for k, v in self.shift.items()})
        out.update({f"psi_{k}": round(v, 6) for k, v in self.psi.items()})
        name, value = self.largest_psi
        out.update(largest_psi_feature=name, largest_psi=round(value, 6))
        out.update({f"estimated_{k}": round(v, 6) for k, v in self.estimated.items()})
        return out


class DriftWindow:
    """Sums over the predictions since the last report. Not thread-safe: one per Lambda environment."""

    def __init__(self, arrays: Mapping[str, FloatArray], size: int, min_requests: int) -> None:
        self.mean, self.scale = arrays["scaler_mean"], arrays["scaler_scale"]
        self.edges, self.expected = arrays["drift_edges"], arrays["drift_expected"]
        self.size, self.min_requests = size, min_requests
        self._reset()

    def _reset(self) -> None:
        d = len(self.mean)
        self.predictions = self.requests = 0
        self.latency_sum = self.latency_max = 0.0
        self.counts = dict.fromkeys(("benign", "malignant", "indeterminate", "out_of_distribution"), 0)
        self.histogram = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        self.z_sum = np.zeros(d)
        self.bins = np.zeros((d, 10), dtype=np.int64)
        # Confidence-based estimates: sums of p and 1 - p, over all and over each predicted label.
        self.right_sum = self.p_sum = self.p_malignant_sum = self.q_sum = self.q_benign_sum = 0.0

    def add(self, x: FloatArray, results: Results, milliseconds: float = 0.0) -> WindowReport | None:
        """Count one request's predictions; return the window's report when it is due (and start a new one)."""
        x = np.atleast_2d(x)
        probability, malignant = results.probability, results.malignant
        indeterminate, ood = results.indeterminate, results.out_of_distribution
        self.predictions += len(x)
        self.requests += 1
        self.latency_sum += milliseconds
        self.latency_max = max(self.latency_max, milliseconds)
        self.counts["malignant"] += int(malignant.sum())
        self.counts["benign"] += int(len(x) - malignant.sum())
        self.counts["indeterminate"] += int(indeterminate.sum())
        self.counts["out_of_distribution"] += int(ood.sum())
        self.histogram += np.bincount(np.minimum((probability * HISTOGRAM_BINS).astype(int), 9), minlength=10)
        q = 1.0 - probability
        self.right_sum += float(np.where(malignant, probability, q).sum())
        self.p_sum += float(probability.sum())
        self.p_malignant_sum += float(probability[malignant].sum())
        self.q_sum += float(q.sum())
        self.q_benign_sum += float(q[~malignant].sum())
        z = (x - self.mean) / self.scale
        self.z_sum += np.where(np.isfinite(z), z, 0.0).sum(axis=0)
        self.bins += bin_counts(x, self.edges)
        if self.predictions < self.size or self.requests < self.min_requests:
            return None
        report = self._report()
        self._reset()
        return report

    def _report(self) -> WindowReport:
        drift = psi(self.bins, self.predictions, self.expected)
        return WindowReport(
            predictions=self.predictions,
            requests=self.requests,
            counts=dict(self.counts),
            histogram=[int(v) for v in self.histogram],
            shift={n: float(v) for n, v in zip(FEATURE_NAMES, self.z_sum / self.predictions, strict=True)},
            psi={n: float(v) for n, v in zip(FEATURE_NAMES, drift, strict=True)},
            latency_ms_mean=self.latency_sum / self.requests,
            latency_ms_max=self.latency_max,
            estimated=self._estimates(),
        )

    def _estimates(self) -> dict[str, float]:
        """Expected accuracy, sensitivity and specificity of the window's predictions, from p alone."""
        return {
            "accuracy": self.right_sum / self.predictions,
            # With no malignant (benign) probability mass at all, nothing could be missed: 1 by convention.
            "sensitivity": self.p_malignant_sum / self.p_sum if self.p_sum > 0 else 1.0,
            "specificity": self.q_benign_sum / self.q_sum if self.q_sum > 0 else 1.0,
        }
