"""Writing a training run's artifact directory: staged beside the target, checked, then swapped in whole."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import joblib
import numpy as np

from model import artifact
from model.manifest import Example, Golden
from model.predictor import Predictor
from model.schema import DEFAULT_OPERATING_POINT, FEATURE_NAMES
from training import report
from training.fit import TrainingResult, pooled_oof
from training.manifest import build_manifest, build_metrics
from training.results import metrics_document

PARITY_TOLERANCE = 1e-9


class UsageError(Exception):
    """A command-line argument that cannot be honoured."""


class ParityError(RuntimeError):
    """The numpy export does not reproduce the scikit-learn model it came from."""


def check_out(out: Path) -> None:
    """Refuse to replace a directory that is not an artifact: the output directory is deleted and rewritten."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / artifact.MANIFEST).exists())):
        raise UsageError(f"--out {out} exists and is not a model artifact directory; choose another path")


def golden(predictor: Predictor, examples: Mapping[str, Example]) -> tuple[Golden, ...]:
    """What the numpy model answers for each example: a release must reproduce it (labels, probabilities)."""
    names = sorted(examples)
    x = np.array([[examples[n].features[f] for f in FEATURE_NAMES] for n in names])
    return tuple(
        Golden(
            example=name,
            operating_point=DEFAULT_OPERATING_POINT,
            label=p.label,
            probability_malignant=p.probability_malignant,
            log_odds=p.log_odds,
        )
        for name, p in zip(names, predictor.predict(x), strict=True)
    )


def _write_files(result: TrainingResult, directory: Path) -> str:
    """Every file of the artifact into `directory`; returns the model version."""
    manifest = artifact.write(directory, build_manifest(result), result.arrays)
    manifest = manifest._replace(golden=golden(Predictor.load(directory), manifest.examples))
    manifest = artifact.write(directory, manifest, result.arrays)
    predictor = Predictor.load(directory)
    x, y = result.dataset.x, result.dataset.y.astype(np.float64)
    p_numpy = predictor.probability(x)
    gap = float(np.max(np.abs(p_numpy - result.final.probability(x))))
    if gap > PARITY_TOLERANCE:
        raise ParityError(f"numpy export disagrees with scikit-learn by {gap:.3g} > {PARITY_TOLERANCE:g}")
    explanations = predictor.explain(x)
    contributions = np.array([[e.contributions[name] for name in FEATURE_NAMES] for e in explanations])
    stored = {
        "explanations.npz": {
            "contributions": contributions,
            "base_value": np.asarray(predictor.base_value),
            "log_odds": predictor.log_odds(x),
            "x": x,
            "y": y,
        },
        "oof.npz": {
            **pooled_oof(result),
            "y": y,
            "final_oof_probability": result.final_oof,
            "final_probability": p_numpy,
        },
    }
    for name, arrays in stored.items():
        (directory / name).write_bytes(artifact.npz_bytes(arrays))
    (directory / "metrics.json").write_bytes(
        artifact.json_bytes(metrics_document(build_metrics(result, manifest, gap)))
    )
    joblib.dump(result.final.estimator, directory / "pipeline.joblib")
    report.write(directory)
    return predictor.version


def write_artifact(result: TrainingResult, out: Path) -> str:
    """Write the artifact to `out`, replacing what was there only once everything is written and checked."""
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        version = _write_files(result, staging)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return version
