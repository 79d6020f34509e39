"""Exact interventional Shapley values for RBF-kernel and linear margins, numpy only.

For an RBF model on standardised inputs z, f(z) = rho + sum_i alpha_i prod_j k_ij(z_j) with
k_ij(t) = exp(-gamma (t - s_ij)^2). Against background rows zb with weights w, each (i, b) term is
a product game whose Shapley value for feature j is

    alpha_i w_b (a_ij - c_ibj) * integral_0^1 prod_{k != j} (c_ibk + q (a_ik - c_ibk)) dq,

a polynomial of degree d - 1 in q, integrated exactly by Gauss-Legendre with ceil(d / 2) nodes.
"""

import threading

import numpy as np

from model.arrays import FloatArray
from model.errors import ExplanationError
from model.margin import LinearMargin, MarginModel, RbfMargin

# Kernel exponents are capped here so that no factor is zero and 1 / factor stays finite; the cap
# changes a kernel value by less than 1e-304.
_MAX_EXPONENT = 700.0

# Contributions that do not add up to f(x) - E[f(background)] within this (relative to the largest term,
# and absolute below 1) are an internal error.
EFFICIENCY_TOLERANCE = 1e-9


def _gauss_legendre_01(n_nodes: int) -> tuple[FloatArray, FloatArray]:
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    return (nodes + 1.0) / 2.0, weights / 2.0


class RbfExplainer:
    """Shapley values of an RBF margin against a weighted background."""

    def __init__(self, model: RbfMargin, background: FloatArray, background_weights: FloatArray) -> None:
        support_vectors, gamma = model.support_vectors, model.gamma
        self.support_vectors, self.gamma = support_vectors, gamma
        d = support_vectors.shape[1]
        self._nodes, self._qweights = _gauss_legendre_01(max(1, (d + 1) // 2))
        # c_ibj: kernel factors of the background rows, independent of the request.
        diff = background[None, :, :] - support_vectors[:, None, :]
        self._c: FloatArray = np.exp(-np.minimum(gamma * diff**2, _MAX_EXPONENT))  # (I, B, d)
        self._ab: FloatArray = model.dual_coef[:, None] * background_weights[None, :]  # alpha_i w_b
        self._local = threading.local()
        # E_b[f(z_b)]: the margin's expected value over the background.
        self.base_value = float(np.sum(self._ab * np.prod(self._c, axis=2))) + model.intercept

    def _buffers(self) -> tuple[FloatArray, FloatArray]:
        # Reused per thread: fresh multi-megabyte temporaries cost more in page faults than the maths.
        buffers: tuple[FloatArray, FloatArray] | None = getattr(self._local, "buffers", None)
        if buffers is None:
            shape = (len(self._nodes), *self._c.shape)
            buffers = (np.empty(shape), np.empty(shape[:-1]))
            self._local.buffers = buffers
        return buffers

    def shapley_row(self, z: FloatArray) -> FloatArray:
        """Contributions (d,) for one standardised row z (d,)."""
        a = np.exp(-np.minimum(self.gamma * (z[None, :] - self.support_vectors) ** 2, _MAX_EXPONENT))
        delta = a[:, None, :] - self._c  # (I, B, d)
        m, weighted = self._buffers()  # (L, I, B, d), (L, I, B)
        np.multiply(self._nodes[:, None, None, None], delta[None], out=m)
        np.add(m, self._c[None], out=m)  # M_liBj = c_ibj + q_l D_ibj
        # prod_{k != j} M_k = prod_k M_k / M_j: every M_j >= exp(-_MAX_EXPONENT) > 0, and where the
        # full product underflows, the term it stands for is below 1e-19.
        np.prod(m, axis=3, out=weighted)
        np.multiply(weighted, self._qweights[:, None, None], out=weighted)
        np.reciprocal(m, out=m)
        integral = np.einsum("lib,libd->ibd", weighted, m)
        return np.asarray(np.einsum("ib,ibd->d", self._ab, integral * delta))


class LinearExplainer:
    """Shapley values of beta . z + intercept: beta_j (z_j - zbar_j), exact for any background."""

    def __init__(self, model: LinearMargin, background: FloatArray, background_weights: FloatArray) -> None:
        self.coef = model.coef
        self.mean_background: FloatArray = np.asarray(background_weights @ background)
        self.base_value = float(model.coef @ self.mean_background) + model.intercept

    def shapley_row(self, z: FloatArray) -> FloatArray:
        return np.asarray(self.coef * (z - self.mean_background))


Explainer = RbfExplainer | LinearExplainer


def explainer_for(model: MarginModel, background: FloatArray, background_weights: FloatArray) -> Explainer:
    """The exact explainer of a margin model."""
    if isinstance(model, RbfMargin):
        return RbfExplainer(model, background, background_weights)
    return LinearExplainer(model, background, background_weights)


def shapley(explainer: Explainer, z: FloatArray, margins: FloatArray, scale: float = 1.0) -> FloatArray:
    """Contributions (n, d) for rows z (n, d) whose margins f(z) are known, times `scale`, checked.

    `scale` is the calibration slope: the calibrated log-odds are scale * f + offset, so their
    Shapley values are exactly scale times the margin's, and add up to scale * (f(z) - base_value).
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    phi = np.stack([explainer.shapley_row(row) for row in z]) * scale
    target = (np.asarray(margins) - explainer.base_value) * scale
    # Rounding grows with the size of the terms: inputs a million standard deviations out give log-odds
    # near 1e7, whose sums carry errors near 1e-9, so the tolerance is relative to the largest term.
    scale_of_terms = np.maximum(1.0, np.maximum(np.abs(phi).max(axis=1, initial=0.0), np.abs(target)))
    residual = np.abs(phi.sum(axis=1) - target) / scale_of_terms
    worst = float(residual.max(initial=0.0))
    if not np.all(np.isfinite(phi)) or worst > EFFICIENCY_TOLERANCE:
        raise ExplanationError(
            f"contributions do not add up: largest relative residual {worst:.3g} exceeds "
            f"{EFFICIENCY_TOLERANCE:g}; the explanation was withheld"
        )
    return phi
