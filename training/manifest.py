"""The documents a training run writes, built from its one TrainingResult: the manifest and metrics.json."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
import scipy
import sklearn
import threadpoolctl

from model.schema import DISCLAIMER, FEATURE_NAMES, FEATURES
from training import metrics, ood
from training.fit import TrainingResult


def blas() -> list[dict[str, str]]:
    """The BLAS libraries numpy and scipy run on, with the kernel each chose for this CPU.

    Floating-point results depend on the kernel, so byte-identical artifacts hold per machine and kernel.
    """
    return [
        {
            "library": str(info.get("internal_api")),
            "version": str(info.get("version")),
            "architecture": str(info.get("architecture")),
        }
        for info in threadpoolctl.threadpool_info()
        if info.get("user_api") == "blas"
    ]


def _features(result: TrainingResult) -> list[dict[str, Any]]:
    x = result.dataset.x
    low, high = x.min(axis=0), x.max(axis=0)
    return [
        {
            "name": f.name,
            "description": f.description,
            "unit": f.unit,
            "aliases": list(f.aliases),
            "training_min": float(low[f.index]),
            "training_max": float(high[f.index]),
        }
        for f in FEATURES
    ]


def _examples(result: TrainingResult) -> dict[str, Any]:
    """The first benign and the first malignant training row."""
    dataset = result.dataset
    first = {"benign": int(np.flatnonzero(dataset.y == 0)[0]), "malignant": int(np.flatnonzero(dataset.y == 1)[0])}
    return {
        name: {"id": dataset.ids[i], "features": {f.name: float(dataset.x[i, f.index]) for f in FEATURES}}
        for name, i in first.items()
    }


def _operating_points(result: TrainingResult) -> dict[str, Any]:
    cv = result.families[result.chosen.name]["operating_points"]
    targets = {"balanced": "maximum sensitivity + specificity"}
    return {
        name: {
            "threshold": t,
            "target": targets.get(name, f"sensitivity >= {metrics.SCREENING_SENSITIVITY}"),
            "cv_sensitivity": cv[name]["sensitivity"],
            "cv_specificity": cv[name]["specificity"],
        }
        for name, t in result.thresholds.items()
    }


def _conformal(result: TrainingResult) -> dict[str, Any]:
    cv = result.families[result.chosen.name]["conformal"]
    return {
        "method": "class-conditional (Mondrian) split conformal on out-of-fold calibrated probabilities",
        "levels": [
            {
                "alpha": alpha,
                "malignant_if_p_at_least": bounds[0],
                "benign_if_p_at_most": bounds[1],
                **{f"cv_{k}": v for k, v in cv[str(alpha)].items()},
            }
            for alpha, bounds in result.conformal.items()
        ],
    }


def manifest_document(result: TrainingResult) -> dict[str, Any]:
    """manifest.json without the fields the writer adds (format version, file checksums, model version)."""
    background_size = len(result.arrays["background_weights"])
    return {
        "disclaimer": DISCLAIMER,
        "features": _features(result),
        "examples": _examples(result),
        "model": {
            "family": result.chosen.name,
            "title": result.chosen.title,
            "hyperparameters": result.final.params,
            **result.description,
        },
        "operating_points": _operating_points(result),
        "conformal": _conformal(result),
        "out_of_distribution": {
            "method": (
                "Mahalanobis distance of standardised log(x + floor) under the empirical covariance, or one "
                "feature further beyond the training range than held-out rows go"
            ),
            "threshold": float(result.arrays["ood_threshold"]),
            "range_threshold": float(result.arrays["ood_range_threshold"]),
            "threshold_rule": (
                f"cross-fitted {ood.QUANTILE} quantile of held-out distances and {ood.RANGE_QUANTILE} quantile of "
                f"held-out excesses beyond the training range (in SDs), {ood.FOLDS} folds"
            ),
            **{k: v for k, v in result.ood_cv.items() if not k.startswith("cv_feature_")},
        },
        "metrics": {"protocol": result.profile.description, **result.families[result.chosen.name]["summary"]},
        "explanation": {
            "method": "exact interventional Shapley values of the calibrated log-odds",
            "background": f"weighted k-means of the standardised training rows, {background_size} centres",
            "background_size": background_size,
        },
        "data": result.dataset.describe(),
        "training": {"profile": result.profile.name, "seed": result.seed, "selection_rule": result.selection_rule},
        "libraries": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
        },
        "platform": {"machine": platform.machine(), "blas": blas()},
    }


def metrics_document(result: TrainingResult, manifest: dict[str, Any], version: str, parity: float) -> dict[str, Any]:
    """metrics.json: every figure of the comparison, and what was shipped."""
    return {
        "disclaimer": DISCLAIMER,
        "model_version": version,
        "profile": result.profile.name,
        "protocol": result.profile.description,
        "seed": result.seed,
        "data": result.dataset.describe(),
        "selection": {"rule": result.selection_rule, "chosen": result.chosen.name},
        "families": result.families,
        "final_model": manifest["model"],
        "operating_points": manifest["operating_points"],
        "conformal": manifest["conformal"],
        "out_of_distribution": manifest["out_of_distribution"],
        "ood_per_feature": {
            name: {
                direction: result.ood_cv[f"cv_feature_{name}_{direction}"]["mean"]
                for direction in ("times_10", "over_10")
            }
            for name in FEATURE_NAMES
        },
        "parity_max_abs_difference": parity,
    }
