"""What the report and the model card read: only what training stored, loaded once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model import artifact
from model.manifest import Manifest
from model.schema import FEATURE_NAMES
from training.results import FamilyResult, Metrics, read_metrics

CLINICAL = ("concave_points", "concavity", "texture_worst")


class Inputs:
    """Everything the report reads, loaded once."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.manifest: Manifest = artifact.load(directory).manifest
        self.metrics: Metrics = read_metrics(json.loads((directory / "metrics.json").read_text()), self.manifest)
        with np.load(directory / "oof.npz", allow_pickle=False) as oof:
            self.oof = {k: oof[k] for k in oof.files}
        with np.load(directory / "explanations.npz", allow_pickle=False) as ex:
            self.explanations = {k: ex[k] for k in ex.files}
        self.chosen: str = self.metrics.chosen
        self.y = self.oof["y"].astype(int)
        self.p_outer = self.oof[f"p_{self.chosen}"][0]  # outer-fold test probabilities, first repeat
        self.family: FamilyResult = self.metrics.shipped
        contributions = self.explanations["contributions"]
        self.importance = np.abs(contributions).mean(axis=0)
        self.order = np.argsort(-self.importance, kind="stable")


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def clinical_comparison(run: Inputs) -> str:
    top = [FEATURE_NAMES[j] for j in run.order[:8]]
    found = [name for name in top if any(name.startswith(c) or name == c for c in CLINICAL)]
    shape = [n for n in top if n.split("_")[0] in ("radius", "perimeter", "area")]
    return (
        f"The eight features with the largest mean contribution are {', '.join(top)}. The literature on this data "
        "(Street, Wolberg and Mangasarian 1993 onward) reports concave points, concavity and worst texture as the "
        f"strongest signals; {len(found)} of the eight belong to those ({', '.join(found) or 'none'}). "
        f"{len(shape)} are size measurements ({', '.join(shape) or 'none'}), which correlate strongly with one "
        "another, so their shares of the credit are interchangeable and should not be read one by one. The "
        "contributions explain this model, not the disease: they say what moved this model's output, which "
        "agrees with the clinical account where the two overlap."
    )


def robustness_rows(run: Inputs) -> list[tuple[str, str, str, str]]:
    rows = []
    robustness = run.family.policy.robustness if run.family.policy else {}
    for case, values in robustness.items():
        rows.append(
            (
                case.replace("_", " "),
                f"{values.accuracy.mean:.4f} +/- {values.accuracy.std:.4f}",
                f"{values.sensitivity.mean:.4f} +/- {values.sensitivity.std:.4f}",
                pct(values.indeterminate.mean),
            )
        )
    return rows


def ood_feature_rows(run: Inputs) -> list[tuple[str, str, str, str]]:
    """(feature, caught when times 10, caught when divided by 10, why a slip goes unseen) per feature."""
    x = run.explanations["x"]
    rows = []
    for j, name in enumerate(FEATURE_NAMES):
        caught = run.metrics.ood_per_feature[name]
        values = x[:, j][x[:, j] > 0]
        span = float(values.max() / values.min())
        reasons = []
        has_zeros = bool((x[:, j] == 0).any())
        for direction, word in (("over_10", "a tenth of"), ("times_10", "ten times")):
            if caught[direction] < 0.9:
                inside = f"{word} a value is often still inside the training range (it spans a factor of {span:.0f})"
                zeros = ", and zero itself is a genuine value" if has_zeros and direction == "over_10" else ""
                reasons.append(inside + zeros + ", and the feature moves loosely with the others")
        rows.append((name, pct(caught["times_10"]), pct(caught["over_10"]), "; ".join(reasons) or "seen"))
    return rows
