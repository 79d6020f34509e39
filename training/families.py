"""Model families and profiles: what is compared, with which grids, at which cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    deployable: bool  # exportable to numpy with exact explanations
    grids: dict[str, dict[str, list[Any]]]  # profile -> parameter grid for the classifier step

    def pipeline(self, seed: int) -> Pipeline:
        return Pipeline([("scale", StandardScaler()), ("clf", _classifier(self.name, seed))])

    def estimator(self, seed: int, calibration_folds: int) -> BaseEstimator:
        """The estimator that inner CV tunes: deployable families are calibrated inside it."""
        if not self.deployable:
            return self.pipeline(seed)
        return CalibratedClassifierCV(
            self.pipeline(seed),
            method="sigmoid",
            cv=StratifiedKFold(calibration_folds, shuffle=True, random_state=seed),
            ensemble=False,
        )

    def grid(self, profile: str) -> dict[str, list[Any]]:
        prefix = "estimator__clf__" if self.deployable else "clf__"
        grid: dict[str, list[Any]] = {prefix + k: v for k, v in self.grids[profile].items()}
        if self.deployable:
            grid["method"] = ["sigmoid", "temperature"]
        return grid


def _classifier(name: str, seed: int) -> BaseEstimator:
    if name == "svm_rbf":
        return SVC(kernel="rbf")
    if name == "svm_linear":
        return LinearSVC(dual="auto", max_iter=20000, random_state=seed)
    if name == "logistic":
        return LogisticRegression(max_iter=5000)
    if name == "random_forest":
        return RandomForestClassifier(random_state=seed, n_jobs=1)
    if name == "gradient_boosting":
        return GradientBoostingClassifier(random_state=seed)
    if name == "knn":
        return KNeighborsClassifier()
    raise ValueError(f"unknown family {name!r}")


FAMILIES: tuple[Family, ...] = (
    Family(
        "svm_rbf",
        "RBF SVM",
        True,
        {
            "quick": {"C": [1.0, 10.0], "gamma": ["scale", 0.01]},
            "default": {"C": [1.0, 3.0, 10.0, 30.0], "gamma": [0.003, 0.01, 0.03]},
            "full": {"C": [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0], "gamma": [0.001, 0.003, 0.01, 0.03, 0.1, "scale"]},
        },
    ),
    Family(
        "svm_linear",
        "linear SVM",
        True,
        {
            "quick": {"C": [0.1, 1.0]},
            "default": {"C": [0.01, 0.03, 0.1, 0.3]},
            "full": {"C": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]},
        },
    ),
    Family(
        "logistic",
        "logistic regression",
        True,
        {
            "quick": {"C": [0.1, 1.0]},
            "default": {"C": [0.03, 0.1, 0.3, 1.0]},
            "full": {"C": [0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]},
        },
    ),
    Family(
        "random_forest",
        "random forest",
        False,
        {
            "quick": {"n_estimators": [50]},
            "default": {"n_estimators": [200]},
            "full": {"n_estimators": [500], "max_features": ["sqrt", 0.3], "min_samples_leaf": [1, 3]},
        },
    ),
    Family(
        "gradient_boosting",
        "gradient boosting",
        False,
        {
            "quick": {"n_estimators": [50]},
            "default": {"n_estimators": [100]},
            "full": {"n_estimators": [100, 300], "learning_rate": [0.05, 0.1], "max_depth": [2, 3]},
        },
    ),
    Family(
        "knn",
        "k nearest neighbours",
        False,
        {
            "quick": {"n_neighbors": [5, 15]},
            "default": {"n_neighbors": [3, 5, 9, 15, 25], "weights": ["uniform", "distance"]},
            "full": {"n_neighbors": [3, 5, 7, 9, 15, 25, 35], "weights": ["uniform", "distance"]},
        },
    ),
)
BY_NAME = {f.name: f for f in FAMILIES}


@dataclass(frozen=True)
class Profile:
    name: str
    outer_folds: int
    repeats: int
    inner_folds: int
    calibration_folds: int
    background_size: int
    description: str


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", 3, 1, 3, 3, 5, "3 outer folds x 1 repeat, 3 inner folds, small grids: for tests"),
    "default": Profile("default", 5, 2, 5, 3, 10, "5 outer folds x 2 repeats, 5 inner folds"),
    "full": Profile("full", 10, 5, 5, 5, 10, "10 outer folds x 5 repeats, 5 inner folds, wide grids"),
}
