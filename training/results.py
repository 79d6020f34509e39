"""Training results as small typed records, and `metrics.json`, their one JSON form, read and written here.

A split's figures (per family, per operating point, per alpha, per perturbation) are records; their
summaries over the outer folds are the same records holding a Summary in place of each number.
`metrics_document` writes them and `read_metrics` reads them back, so the report and the model card
never walk JSON by string paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model import manifest as manifest_io
from model.arrays import FloatArray
from model.manifest import Summary

METRIC_NAMES = ("accuracy", "auc", "sensitivity", "specificity", "brier", "log_loss", "ece")
OOD_DIRECTIONS = ("times_10", "over_10")  # one feature multiplied, or divided, by 10
JSON = dict[str, Any]


@dataclass(frozen=True)
class PointOutcome[T: (float, Summary)]:
    """An operating point's threshold (chosen on inner folds) and how it did on the outer test rows."""

    threshold: T
    sensitivity: T
    specificity: T


@dataclass(frozen=True)
class ConformalOutcome[T: (float, Summary)]:
    coverage_malignant: T
    coverage_benign: T
    indeterminate: T


@dataclass(frozen=True)
class RobustOutcome[T: (float, Summary)]:
    """A perturbed copy of the test rows, at the balanced operating point and alpha 0.05."""

    accuracy: T
    sensitivity: T
    indeterminate: T


@dataclass(frozen=True)
class Policy[T: (float, Summary)]:
    """What a deployable family's policy did: per operating point, per alpha, per perturbation."""

    operating_points: dict[str, PointOutcome[T]]
    conformal: dict[float, ConformalOutcome[T]]
    robustness: dict[str, RobustOutcome[T]]


@dataclass(frozen=True)
class OodFigures[T: (float, Summary)]:
    """The OOD check on held-out rows: overall rates, and per feature the share caught when it slips."""

    overall: dict[str, T]  # false_flag_rate and the detection rates
    per_feature: dict[str, dict[str, T]]  # feature -> direction (OOD_DIRECTIONS) -> share caught


@dataclass(frozen=True)
class FamilyOnSplit:
    """One family tuned on a split's training rows and judged on its test rows."""

    probability: FloatArray
    params: dict[str, Any]
    scores: dict[str, float]  # METRIC_NAMES
    policy: Policy[float] | None  # deployable families only


@dataclass(frozen=True)
class SplitResult:
    repeat: int
    fold: int
    test_index: NDArray[np.intp]
    families: dict[str, FamilyOnSplit]
    ood: OodFigures[float]


@dataclass(frozen=True)
class SplitScores:
    repeat: int
    fold: int
    scores: dict[str, float]


@dataclass(frozen=True)
class FamilyResult:
    """One family over every outer split: per split, and mean and spread of each figure."""

    title: str
    deployable: bool
    summary: dict[str, Summary]  # METRIC_NAMES
    per_split: list[SplitScores]
    params: list[dict[str, Any]]
    policy: Policy[Summary] | None  # deployable families only


@dataclass(frozen=True)
class Metrics:
    """`metrics.json`: every figure of the comparison, and what was shipped."""

    disclaimer: str
    model_version: str
    profile: str
    protocol: str
    seed: int
    data: manifest_io.DataSpec
    selection_rule: str
    chosen: str
    families: dict[str, FamilyResult]
    manifest: manifest_io.Manifest  # the shipped model's sections are copied from it
    ood_per_feature: dict[str, dict[str, float]]  # feature -> direction -> mean share caught
    parity_max_abs_difference: float

    @property
    def shipped(self) -> FamilyResult:
        return self.families[self.chosen]


def summary(values: list[float]) -> Summary:
    arr = np.asarray(values, dtype=np.float64)
    return Summary(mean=float(arr.mean()), std=float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, n=len(arr))


def _record(record: Any) -> JSON:
    """A flat record's fields as JSON, each Summary as {mean, std, n}."""
    return {f.name: _value(getattr(record, f.name)) for f in fields(record)}


def _value(value: Any) -> Any:
    return value.to_json() if isinstance(value, Summary) else value


def _policy_json(policy: Policy[Summary]) -> JSON:
    return {
        "operating_points": {name: _record(o) for name, o in policy.operating_points.items()},
        "conformal": {str(alpha): _record(o) for alpha, o in policy.conformal.items()},
        "robustness": {case: _record(o) for case, o in policy.robustness.items()},
    }


def _family_json(f: FamilyResult) -> JSON:
    out: JSON = {
        "title": f.title,
        "deployable": f.deployable,
        "summary": {m: s.to_json() for m, s in f.summary.items()},
        "per_split": [{"repeat": s.repeat, "fold": s.fold, **s.scores} for s in f.per_split],
        "params": f.params,
    }
    return out | (_policy_json(f.policy) if f.policy is not None else {})


def metrics_document(m: Metrics) -> JSON:
    return {
        "disclaimer": m.disclaimer,
        "model_version": m.model_version,
        "profile": m.profile,
        "protocol": m.protocol,
        "seed": m.seed,
        "data": manifest_io.write(m.data),
        "selection": {"rule": m.selection_rule, "chosen": m.chosen},
        "families": {name: _family_json(f) for name, f in m.families.items()},
        "final_model": manifest_io.write(m.manifest.model),
        "operating_points": {name: manifest_io.write(op) for name, op in m.manifest.operating_points.items()},
        "conformal": manifest_io.write(m.manifest.conformal),
        "out_of_distribution": manifest_io.write(m.manifest.out_of_distribution),
        "ood_per_feature": m.ood_per_feature,
        "parity_max_abs_difference": m.parity_max_abs_difference,
    }


def _summary(doc: Mapping[str, Any]) -> Summary:
    return Summary(mean=float(doc["mean"]), std=float(doc["std"]), n=int(doc["n"]))


def _policy(doc: Mapping[str, Any]) -> Policy[Summary]:
    def each(record: type[Any], values: Mapping[str, Any]) -> Any:
        return record(**{f.name: _summary(values[f.name]) for f in fields(record)})

    return Policy(
        operating_points={n: each(PointOutcome, o) for n, o in doc["operating_points"].items()},
        conformal={float(a): each(ConformalOutcome, o) for a, o in doc["conformal"].items()},
        robustness={c: each(RobustOutcome, o) for c, o in doc["robustness"].items()},
    )


def _family(doc: Mapping[str, Any]) -> FamilyResult:
    return FamilyResult(
        title=doc["title"],
        deployable=doc["deployable"],
        summary={m: _summary(s) for m, s in doc["summary"].items()},
        per_split=[
            SplitScores(s["repeat"], s["fold"], {k: v for k, v in s.items() if k not in ("repeat", "fold")})
            for s in doc["per_split"]
        ],
        params=doc["params"],
        policy=_policy(doc) if doc["deployable"] else None,
    )


def read_metrics(doc: Mapping[str, Any], manifest: manifest_io.Manifest) -> Metrics:
    """`metrics.json` as records; the shipped model's sections come from the artifact's own manifest."""
    return Metrics(
        disclaimer=doc["disclaimer"],
        model_version=doc["model_version"],
        profile=doc["profile"],
        protocol=doc["protocol"],
        seed=doc["seed"],
        data=manifest.data,
        selection_rule=doc["selection"]["rule"],
        chosen=doc["selection"]["chosen"],
        families={name: _family(f) for name, f in doc["families"].items()},
        manifest=manifest,
        ood_per_feature=doc["ood_per_feature"],
        parity_max_abs_difference=doc["parity_max_abs_difference"],
    )
