"""The updated model as a new artifact: the recalibration composed into the calibration, a lineage record, golden
examples computed again, the site's drift reference, conformal thresholds from site rows not used to fit, and a
model card that names the parent and the site. Offline: it uses training's own helpers."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cohort import update
from cohort.evaluate import rates_at
from model import artifact
from model.arrays import FloatArray, IntArray, sigmoid
from model.drift import decile_edges
from model.manifest import CARD_FILE, Calibration, Conformal, LikelihoodRatioTest, Lineage, Manifest
from model.predictor import Predictor
from training.metrics import conformal_thresholds
from training.write import golden

FOLDS = 2  # cross-fitting: each half's conformal scores come from a recalibration fitted on the other half


class Update(NamedTuple):
    """What was decided, and the figures that decided it: the lineage, the card and the command's summary read it."""

    site: str
    method: str
    description: str
    intercept: float
    slope: float
    intervals: Mapping[str, tuple[float, float]]
    tests: list[update.Test]
    n: int
    events: int | None
    sample_size: update.SampleSize | None
    override: str
    optimism: Mapping[str, float]
    cohort_sha256: str
    command: str


def recalibrated(y: IntArray, lp: FloatArray, method: str, seed: int) -> FloatArray:
    """Each row's probability under `method` fitted on the other fold (stratified): scores free of the fit."""
    if method == "M0":
        return sigmoid(lp)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % FOLDS
    fit = update.m1 if method == "M1" else update.m2
    out = np.empty(len(y))
    for k in range(FOLDS):
        train = fold != k
        out[~train] = sigmoid(fit(y[train], lp[train]).log_odds(lp[~train]))
    return out


def conformal(parent: Conformal, y: IntArray | None, p: FloatArray | None) -> tuple[Conformal, str]:
    """Each level recomputed on the cross-fitted probabilities when each class has ceil(1/alpha) - 1 rows;
    else the parent's, said so."""
    levels, notes = [], []
    for level in parent.levels:
        need = math.ceil(1 / level.alpha) - 1
        counts = (0, 0) if y is None else (int(np.sum(y == 1)), int(np.sum(y == 0)))
        if y is None or p is None or min(counts) < need:
            levels.append(level)
            why = "no labels" if y is None else f"{min(counts)} rows in the smaller class, under {need}"
            notes.append(f"alpha {level.alpha}: the parent's thresholds ({why})")
            continue
        malignant_from, benign_to = conformal_thresholds(y, p, level.alpha)
        levels.append(level._replace(malignant_if_p_at_least=malignant_from, benign_if_p_at_most=benign_to))
        notes.append(f"alpha {level.alpha}: recomputed on {len(y)} site rows, cross-fitted over {FOLDS} folds")
    method = f"{parent.method}; at the site: " + "; ".join(notes)
    return Conformal(method=method, levels=tuple(levels)), "; ".join(notes)


def _lineage(parent: Manifest, u: Update, drift: str, conformal_note: str) -> Lineage:
    coefficients = {"intercept": u.intercept, "slope": u.slope}
    for name, (low, high) in u.intervals.items():
        coefficients |= {f"{name}_low": low, f"{name}_high": high}
    sizes: dict[str, float] = {} if u.sample_size is None else dict(u.sample_size._asdict())
    return Lineage(
        parent_version=parent.model_version,
        site=u.site,
        method=u.method,
        description=u.description,
        coefficients=coefficients,
        tests=tuple(LikelihoodRatioTest(t.compared, t.deviance_difference, t.df, t.p_value) for t in u.tests),
        n=u.n,
        events=u.events,
        sample_size={k: float(v) for k, v in sizes.items()},
        override=u.override,
        cohort_sha256=u.cohort_sha256,
        command=u.command,
        drift_reference=drift,
        conformal=conformal_note,
    )


def build(parent: Predictor, u: Update, x: FloatArray, y: IntArray | None) -> tuple[Manifest, dict[str, FloatArray]]:
    """The new version's manifest (without its golden examples) and arrays."""
    m, arrays = parent.manifest, dict(parent.artifact.arrays)
    slope, offset = (float(v) for v in arrays["calibration"])
    # Still one affine map of the margin: the Shapley values stay exact and additive.
    composed = (u.slope * slope, u.slope * offset + u.intercept)
    arrays["calibration"] = np.array(composed)
    arrays["drift_edges"], arrays["drift_expected"] = decile_edges(x)
    drift = f"the deciles of the site's {len(x)} rows (the window's PSI compares with the site)"
    p = None if y is None else recalibrated(y, parent.log_odds(x), u.method, seed=0)
    conformal_levels, note = conformal(m.conformal, y, p)
    calibration = Calibration(
        method=f"{m.model.calibration.method}, then {u.method} for site {u.site}", slope=composed[0], offset=composed[1]
    )
    manifest = m._replace(
        model=m.model._replace(calibration=calibration),
        conformal=conformal_levels,
        golden=(),
        model_version="",
        files={},
        lineage=_lineage(m, u, drift, note),
    )
    return manifest, arrays


def site_rates(parent: Predictor, child: Predictor, x: FloatArray, y: IntArray) -> dict[str, Any]:
    """Sensitivity and specificity at each operating point on the site's rows, before and after (apparent)."""
    out: dict[str, Any] = {}
    for name in parent.operating_points:
        before = rates_at(y, np.asarray(parent.predict(x, operating_point=name).malignant))
        after = rates_at(y, np.asarray(child.predict(x, operating_point=name).malignant))
        out[name] = {
            f"{k}_{when}": r[k]
            for when, r in (("before", before), ("after", after))
            for k in ("sensitivity", "specificity")
        }
    return out


def write(
    out: Path,
    parent: Predictor,
    u: Update,
    cohort: tuple[FloatArray, IntArray | None],
    card: Callable[[Predictor], str],
) -> Predictor:
    """Write the new version to `out` (staged beside it, checked, then moved in whole); the parent is untouched."""
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest, arrays = build(parent, u, *cohort)
        artifact.write(staging, manifest, arrays)
        manifest = manifest._replace(golden=golden(Predictor.load(staging), manifest.examples))
        artifact.write(staging, manifest, arrays)
        child = Predictor.load(staging)
        (staging / CARD_FILE).write_text(card(child))
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Predictor.load(out)
