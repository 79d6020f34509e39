"""From data to a chosen, fitted, calibrated model: one TrainingResult that everything written derives from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.arrays import FloatArray
from model.drift import decile_edges
from training import data, export, metrics, ood, protocol
from training.families import BY_NAME, FAMILIES, Family, Profile

log = logging.getLogger("training")
METRIC_NAMES = ("accuracy", "auc", "sensitivity", "specificity", "brier", "log_loss", "ece")
SELECTION_RULE = "the deployable family with the lowest mean nested-CV Brier score"


@dataclass(frozen=True)
class TrainingResult:
    """What one training run found and fitted: the comparison, the chosen model and its policy."""

    dataset: data.Dataset
    profile: Profile
    seed: int
    splits: list[protocol.SplitResult]
    families: dict[str, dict[str, Any]]  # per-family CV summaries, as metrics.json holds them
    chosen: Family
    selection_rule: str
    final: protocol.Fitted
    final_oof: FloatArray  # the final model's out-of-fold probabilities, which chose the thresholds
    thresholds: dict[str, float]
    conformal: dict[float, tuple[float, float]]
    arrays: dict[str, FloatArray]  # the numpy artifact's arrays
    description: dict[str, Any]  # the exported margin model: kind, estimator, calibration
    ood_cv: dict[str, dict[str, Any]]


def summarise(splits: list[protocol.SplitResult], family: Family) -> dict[str, Any]:
    """One family's figures over the outer folds: per split, and mean and spread of each."""
    out: dict[str, Any] = {
        "title": family.title,
        "deployable": family.deployable,
        "summary": {m: metrics.summary([s.scores[family.name][m] for s in splits]) for m in METRIC_NAMES},
        "per_split": [{"repeat": s.repeat, "fold": s.fold, **s.scores[family.name]} for s in splits],
        "params": [s.params[family.name] for s in splits],
    }
    if family.deployable:
        points = splits[0].operating_points[family.name]
        out["operating_points"] = {
            name: {
                k: metrics.summary([s.operating_points[family.name][name][k] for s in splits])
                for k in ("threshold", "sensitivity", "specificity")
            }
            for name in points
        }
        out["conformal"] = {
            alpha: {
                k: metrics.summary([s.conformal[family.name][alpha][k] for s in splits])
                for k in ("coverage_malignant", "coverage_benign", "indeterminate")
            }
            for alpha in splits[0].conformal[family.name]
        }
        out["robustness"] = {
            case: {k: metrics.summary([s.robustness[family.name][case][k] for s in splits]) for k in values}
            for case, values in splits[0].robustness[family.name].items()
        }
    return out


def choose(families: dict[str, dict[str, Any]], asked: str | None) -> tuple[Family, str]:
    """The family to ship and the rule that chose it."""
    if asked is not None:
        return BY_NAME[asked], f"asked for on the command line (--family {asked})"
    deployable = [f for f in FAMILIES if f.deployable]
    return min(deployable, key=lambda f: families[f.name]["summary"]["brier"]["mean"]), SELECTION_RULE


def train(dataset: data.Dataset, profile: Profile, seed: int, jobs: int, family: str | None) -> TrainingResult:
    """Compare every family by nested CV, then fit, calibrate and export the chosen one on all rows."""
    x, y = dataset.x, dataset.y
    log.info("data: %s (%d rows, %d malignant)", dataset.source, len(y), int(y.sum()))
    splits = protocol.nested_cv(protocol.Study(FAMILIES, x, y, profile, seed), jobs)
    families = {f.name: summarise(splits, f) for f in FAMILIES}
    chosen, rule = choose(families, family)
    log.info("chosen: %s (%s)", chosen.title, rule)
    final = protocol.fit_family(chosen, x, y, profile, seed)
    if final.oof_probability is None:
        raise ValueError(f"{chosen.name} is not deployable: it has no out-of-fold probabilities")
    thresholds, conformal = protocol.policy(y, final.oof_probability)
    arrays, description = export.model_arrays(final.estimator)
    z = (x - arrays["scaler_mean"]) / arrays["scaler_scale"]
    arrays["background"], arrays["background_weights"] = export.background(z, profile.background_size, seed)
    arrays.update(ood.fit_with_threshold(x, y, seed))
    arrays["drift_edges"], arrays["drift_expected"] = decile_edges(x)
    ood_cv = {f"cv_{k}": metrics.summary([s.ood[k] for s in splits]) for k in splits[0].ood}
    return TrainingResult(
        dataset=dataset,
        profile=profile,
        seed=seed,
        splits=splits,
        families=families,
        chosen=chosen,
        selection_rule=rule,
        final=final,
        final_oof=final.oof_probability,
        thresholds=thresholds,
        conformal=conformal,
        arrays=arrays,
        description=description,
        ood_cv=ood_cv,
    )


def pooled_oof(result: TrainingResult) -> dict[str, FloatArray]:
    """Outer-fold test probabilities per family as (repeats, n), and the fold of every row."""
    n, repeats = len(result.dataset.y), result.profile.repeats
    arrays: dict[str, FloatArray] = {"fold": np.zeros((repeats, n))}
    for s in result.splits:
        arrays["fold"][s.repeat, s.test_index] = s.fold
        for name, p in s.probability.items():
            arrays.setdefault(f"p_{name}", np.zeros((repeats, n)))[s.repeat, s.test_index] = p
    return arrays
