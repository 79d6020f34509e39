"""From data to a chosen, fitted, calibrated model: one TrainingResult that everything written derives from."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from cohort.evaluate import Z, calibration, row_hashes
from model.arrays import FloatArray, IntArray
from model.drift import decile_edges
from model.manifest import Summary
from training import data, export, ood, protocol
from training.families import BY_NAME, FAMILIES, Family, Profile
from training.results import (
    METRIC_NAMES,
    FamilyResult,
    OodFigures,
    Policy,
    SplitResult,
    SplitScores,
    summary,
)

log = logging.getLogger("training")
SELECTION_RULE = "the deployable family with the lowest mean nested-CV Brier score"


@dataclass(frozen=True)
class TrainingResult:
    """What one training run found and fitted: the comparison, the chosen model and its policy."""

    dataset: data.Dataset
    profile: Profile
    seed: int
    splits: list[SplitResult]
    families: dict[str, FamilyResult]
    chosen: Family
    selection_rule: str
    final: protocol.Fitted
    final_oof: FloatArray  # the final model's out-of-fold probabilities, which chose the thresholds
    thresholds: dict[str, float]
    conformal: dict[float, tuple[float, float]]
    arrays: dict[str, FloatArray]  # the numpy artifact's arrays
    exported: export.Exported  # the margin model: kind, estimator, calibration
    ood_cv: OodFigures[Summary]
    pooled_calibration: dict[str, Summary]  # the shipped family's calibration intercept and slope


def _over(values: list[Any]) -> Any:
    """Records of numbers (one per split) -> the same record of Summaries over the splits."""
    first = values[0]
    return type(first)(**{f.name: summary([getattr(v, f.name) for v in values]) for f in fields(first)})


def _policy(policies: list[Policy[float]]) -> Policy[Summary]:
    first = policies[0]
    return Policy(
        operating_points={n: _over([p.operating_points[n] for p in policies]) for n in first.operating_points},
        conformal={a: _over([p.conformal[a] for p in policies]) for a in first.conformal},
        robustness={c: _over([p.robustness[c] for p in policies]) for c in first.robustness},
    )


def summarise(splits: list[SplitResult], family: Family) -> FamilyResult:
    """One family's figures over the outer folds: per split, and mean and spread of each."""
    mine = [s.families[family.name] for s in splits]
    policies = [f.policy for f in mine if f.policy is not None]
    return FamilyResult(
        title=family.title,
        deployable=family.deployable,
        summary={m: summary([f.scores[m] for f in mine]) for m in METRIC_NAMES},
        per_split=[SplitScores(s.repeat, s.fold, f.scores) for s, f in zip(splits, mine, strict=True)],
        params=[f.params for f in mine],
        policy=_policy(policies) if family.deployable else None,
    )


def ood_summary(splits: list[SplitResult]) -> OodFigures[Summary]:
    first = splits[0].ood
    return OodFigures(
        overall={k: summary([s.ood.overall[k] for s in splits]) for k in first.overall},
        per_feature={
            name: {d: summary([s.ood.per_feature[name][d] for s in splits]) for d in directions}
            for name, directions in first.per_feature.items()
        },
    )


def pooled_calibration(splits: list[SplitResult], y: IntArray, family: str) -> dict[str, Summary]:
    """Calibration-in-the-large and slope of one family's outer-fold predictions, pooled within each repeat
    (a fold of a few dozen rows is often separated, where the slope has no finite estimate): the mean over
    repeats, and an SD from both the fits' standard errors and the spread between repeats."""
    fits: dict[str, list[tuple[float, float]]] = {"calibration_intercept": [], "calibration_slope": []}
    for repeat in sorted({s.repeat for s in splits}):
        mine = [s for s in splits if s.repeat == repeat]
        index = np.concatenate([s.test_index for s in mine])
        p = np.clip(np.concatenate([s.families[family].probability for s in mine]), 1e-12, 1 - 1e-12)
        fitted = calibration(y[index], np.log(p / (1 - p)))
        for key, found in fits.items():
            low, high = fitted[f"{key}_ci"]
            found.append((float(fitted[key]), (high - low) / (2 * Z)))  # the interval back to its SE
    out = {}
    for key, values in fits.items():
        means = np.array([m for m, _ in values])
        spread = float(np.var(means, ddof=1)) if len(means) > 1 else 0.0
        se = float(np.mean([e**2 for _, e in values]))
        out[key] = Summary(mean=float(means.mean()), std=float(np.sqrt(se + spread)), n=len(values))
    return out


def choose(families: dict[str, FamilyResult], asked: str | None) -> tuple[Family, str]:
    """The family to ship and the rule that chose it."""
    if asked is not None:
        return BY_NAME[asked], f"asked for on the command line (--family {asked})"
    deployable = [f for f in FAMILIES if f.deployable]
    return min(deployable, key=lambda f: families[f.name].summary["brier"].mean), SELECTION_RULE


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
    arrays, exported = export.model_arrays(final.estimator)
    z = (x - arrays["scaler_mean"]) / arrays["scaler_scale"]
    arrays["background"], arrays["background_weights"] = export.background(z, profile.background_size, seed)
    arrays.update(ood.fit_with_threshold(x, y, seed))
    arrays["drift_edges"], arrays["drift_expected"] = decile_edges(x)
    arrays["row_hashes"] = row_hashes(x)
    arrays["training_x"], arrays["training_y"] = x, y.astype(np.float64)
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
        exported=exported,
        ood_cv=ood_summary(splits),
        pooled_calibration=pooled_calibration(splits, y, chosen.name),
    )


def pooled_oof(result: TrainingResult) -> dict[str, FloatArray]:
    """Outer-fold test probabilities per family as (repeats, n), and the fold of every row."""
    n, repeats = len(result.dataset.y), result.profile.repeats
    arrays: dict[str, FloatArray] = {"fold": np.zeros((repeats, n))}
    for s in result.splits:
        arrays["fold"][s.repeat, s.test_index] = s.fold
        for name, family in s.families.items():
            arrays.setdefault(f"p_{name}", np.zeros((repeats, n)))[s.repeat, s.test_index] = family.probability
    return arrays
