"""The records a training run writes, built from its one TrainingResult: the manifest and metrics.json's."""

from __future__ import annotations

import platform
from dataclasses import fields

import numpy as np
import scipy
import sklearn
import threadpoolctl

from model.manifest import (
    Conformal,
    ConformalLevel,
    Example,
    ExplanationSpec,
    FeatureSpec,
    Manifest,
    MetricsSummary,
    ModelSpec,
    OperatingPoint,
    OutOfDistribution,
    Summary,
    TrainingSpec,
)
from model.schema import DISCLAIMER, FEATURES
from training import metrics, ood
from training.fit import TrainingResult
from training.results import Metrics, Policy


def blas() -> list[dict[str, str]]:
    """The BLAS libraries numpy and scipy run on, with the kernel each chose for this CPU.

    Floating-point results depend on the kernel, so byte-identical artifacts hold per machine and kernel.
    Sorted, so that the order in which the libraries happened to load does not change the manifest.
    """
    found = [
        {
            "library": str(info.get("internal_api")),
            "version": str(info.get("version")),
            "architecture": str(info.get("architecture")),
        }
        for info in threadpoolctl.threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return sorted(found, key=lambda b: (b["library"], b["version"], b["architecture"]))


def _features(result: TrainingResult) -> tuple[FeatureSpec, ...]:
    x = result.dataset.x
    low, high = x.min(axis=0), x.max(axis=0)
    return tuple(
        FeatureSpec(f.name, f.description, f.unit, tuple(f.aliases), float(low[f.position]), float(high[f.position]))
        for f in FEATURES
    )


def _examples(result: TrainingResult) -> dict[str, Example]:
    """The first benign and the first malignant training row."""
    dataset = result.dataset
    first = {"benign": int(np.flatnonzero(dataset.y == 0)[0]), "malignant": int(np.flatnonzero(dataset.y == 1)[0])}
    return {
        name: Example(id=dataset.ids[i], features={f.name: float(dataset.x[i, f.position]) for f in FEATURES})
        for name, i in first.items()
    }


def _shipped_policy(result: TrainingResult) -> Policy[Summary]:
    policy = result.families[result.chosen.name].policy
    if policy is None:
        raise ValueError(f"{result.chosen.name} is not deployable: it has no policy")
    return policy


def _operating_points(result: TrainingResult) -> dict[str, OperatingPoint]:
    cv = _shipped_policy(result).operating_points
    targets = {"balanced": "maximum sensitivity + specificity"}
    return {
        name: OperatingPoint(
            name=name,
            threshold=t,
            target=targets.get(name, f"sensitivity >= {metrics.SCREENING_SENSITIVITY}"),
            cv_sensitivity=cv[name].sensitivity,
            cv_specificity=cv[name].specificity,
        )
        for name, t in result.thresholds.items()
    }


def _conformal(result: TrainingResult) -> Conformal:
    cv = _shipped_policy(result).conformal
    return Conformal(
        method="class-conditional (Mondrian) split conformal on out-of-fold calibrated probabilities",
        levels=tuple(
            ConformalLevel(
                alpha=alpha,
                malignant_if_p_at_least=bounds[0],
                benign_if_p_at_most=bounds[1],
                cv={f.name: getattr(cv[alpha], f.name) for f in fields(cv[alpha])},
            )
            for alpha, bounds in result.conformal.items()
        ),
    )


def _model(result: TrainingResult) -> ModelSpec:
    e = result.exported
    return ModelSpec(
        family=result.chosen.name,
        title=result.chosen.title,
        kind=e.kind,
        estimator=e.estimator,
        hyperparameters=result.final.params,
        calibration=e.calibration,
        n_support_vectors=e.n_support_vectors,
        gamma=e.gamma,
    )


def _ood(result: TrainingResult) -> OutOfDistribution:
    return OutOfDistribution(
        method=(
            "Mahalanobis distance of standardised log(x + floor) under the empirical covariance, or one "
            "feature further beyond the training range than held-out rows go"
        ),
        threshold=float(result.arrays["ood_threshold"]),
        range_threshold=float(result.arrays["ood_range_threshold"]),
        threshold_rule=(
            f"cross-fitted {ood.QUANTILE} quantile of held-out distances and {ood.RANGE_QUANTILE} quantile of "
            f"held-out excesses beyond the training range (in SDs), {ood.FOLDS} folds"
        ),
        cv=result.ood_cv.overall,
    )


def build_manifest(result: TrainingResult) -> Manifest:
    """The manifest of a training run, before writing: no golden examples, version or file checksums yet."""
    background_size = len(result.arrays["background_weights"])
    return Manifest(
        format_version=0,
        model_version="",
        disclaimer=DISCLAIMER,
        features=_features(result),
        examples=_examples(result),
        golden=(),
        model=_model(result),
        operating_points=_operating_points(result),
        conformal=_conformal(result),
        out_of_distribution=_ood(result),
        metrics=MetricsSummary(
            protocol=result.profile.description,
            scores={**result.families[result.chosen.name].summary, **result.pooled_calibration},
        ),
        explanation=ExplanationSpec(
            method="exact interventional Shapley values of the calibrated log-odds",
            background=f"weighted k-means of the standardised training rows, {background_size} centres",
            background_size=background_size,
        ),
        data=result.dataset.spec(),
        training=TrainingSpec(profile=result.profile.name, seed=result.seed, selection_rule=result.selection_rule),
        libraries={
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
        },
        platform={"machine": platform.machine(), "blas": blas()},
        files={},
    )


def build_metrics(result: TrainingResult, manifest: Manifest, parity: float) -> Metrics:
    """metrics.json's records: every figure of the comparison, and what was shipped."""
    return Metrics(
        disclaimer=DISCLAIMER,
        model_version=manifest.model_version,
        profile=result.profile.name,
        protocol=result.profile.description,
        seed=result.seed,
        data=manifest.data,
        selection_rule=result.selection_rule,
        chosen=result.chosen.name,
        families=result.families,
        manifest=manifest,
        ood_per_feature={
            name: {direction: s.mean for direction, s in figures.items()}
            for name, figures in result.ood_cv.per_feature.items()
        },
        parity_max_abs_difference=parity,
    )
