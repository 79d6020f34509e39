"""The margin models a numpy artifact can hold: f(z) for standardised rows z, before calibration."""

from collections.abc import Mapping

import numpy as np

from model.arrays import FloatArray


class RbfMargin:
    """f(z) = rho + sum_i alpha_i exp(-gamma ||z - s_i||^2): an RBF-kernel SVM's decision function."""

    def __init__(self, support_vectors: FloatArray, dual_coef: FloatArray, gamma: float, intercept: float) -> None:
        self.support_vectors = support_vectors  # (I, d), standardised space
        self.dual_coef = dual_coef  # (I,)
        self.gamma = gamma
        self.intercept = intercept
        self._sv_squared = np.sum(support_vectors**2, axis=1)

    def margin(self, z: FloatArray) -> FloatArray:
        """f(z) for rows z of shape (n, d)."""
        sq = np.sum(z**2, axis=1)[:, None] + self._sv_squared[None, :] - 2.0 * z @ self.support_vectors.T
        return np.asarray(np.exp(-self.gamma * np.maximum(sq, 0.0)) @ self.dual_coef) + self.intercept


class LinearMargin:
    """f(z) = beta . z + intercept: a linear SVM's or logistic regression's decision function."""

    def __init__(self, coef: FloatArray, intercept: float) -> None:
        self.coef = coef  # (d,), standardised space
        self.intercept = intercept

    def margin(self, z: FloatArray) -> FloatArray:
        """f(z) for rows z of shape (n, d)."""
        return np.asarray(z @ self.coef) + self.intercept


MarginModel = RbfMargin | LinearMargin


def from_arrays(kind: str, arrays: Mapping[str, FloatArray]) -> MarginModel:
    """The margin model of a verified artifact's arrays; `kind` is the manifest's model kind."""
    intercept = float(arrays["intercept"])
    if kind == "rbf":
        return RbfMargin(arrays["support_vectors"], arrays["dual_coef"], float(arrays["gamma"]), intercept)
    return LinearMargin(arrays["coef"], intercept)
