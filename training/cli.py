"""`python -m training`: compare model families honestly, fit, calibrate and write the artifact."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from model import artifact
from model.csvio import CsvError
from model.predictor import Predictor
from model.schema import DISCLAIMER, FEATURES
from training import data, export, metrics, ood, protocol, report
from training.families import BY_NAME, FAMILIES, PROFILES, Family

log = logging.getLogger("training")
METRIC_NAMES = ("accuracy", "auc", "sensitivity", "specificity", "brier", "log_loss", "ece")
SELECTION_RULE = "the deployable family with the lowest mean nested-CV Brier score"
PARITY_TOLERANCE = 1e-9


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=(
            "Compare model families by repeated stratified nested cross-validation, fit the chosen "
            "one on all data, calibrate it, choose operating points and conformal thresholds, and "
            f"write a versioned numpy-only model artifact. {DISCLAIMER}"
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="FILE",
        help="labelled CSV (Kaggle/UCI, scikit-learn or canonical column names; labels M/B or "
        "malignant/benign). Default: the WDBC copy embedded in scikit-learn.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("artifacts/model"),
        metavar="DIR",
        help="directory to write the artifact to, replaced whole on success (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()),
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every split and estimator (default: %(default)s)")
    parser.add_argument(
        "--family",
        choices=[f.name for f in FAMILIES if f.deployable],
        default=None,
        help="ship this deployable family instead of the selection rule's choice (all are still compared)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes for the outer folds (default: all %(default)s cores)",
    )
    return parser


def summarise(splits: list[protocol.SplitResult], family: Family) -> dict[str, Any]:
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


def _pooled_oof(splits: list[protocol.SplitResult], n: int, repeats: int) -> dict[str, np.ndarray]:
    """Outer-fold test probabilities per family as (repeats, n), and the fold of every row."""
    arrays: dict[str, np.ndarray] = {"fold": np.zeros((repeats, n))}
    for s in splits:
        arrays["fold"][s.repeat, s.test_index] = s.fold
        for name, p in s.probability.items():
            arrays.setdefault(f"p_{name}", np.zeros((repeats, n)))[s.repeat, s.test_index] = p
    return arrays


def manifest_for(
    dataset: data.Dataset,
    profile_name: str,
    seed: int,
    chosen: Family,
    selection_rule: str,
    description: dict[str, Any],
    fitted_params: dict[str, Any],
    thresholds: dict[str, float],
    conformal: dict[float, tuple[float, float]],
    families: dict[str, Any],
    ood_cv: dict[str, Any],
    ood_threshold: float,
    background_size: int,
) -> dict[str, Any]:
    low, high = dataset.x.min(axis=0), dataset.x.max(axis=0)
    summary = families[chosen.name]
    return {
        "disclaimer": DISCLAIMER,
        "features": [
            {
                "name": f.name,
                "description": f.description,
                "unit": f.unit,
                "aliases": list(f.aliases),
                "training_min": float(low[f.index]),
                "training_max": float(high[f.index]),
            }
            for f in FEATURES
        ],
        "examples": {
            name: {
                "id": dataset.ids[i],
                "features": {f.name: float(dataset.x[i, f.index]) for f in FEATURES},
            }
            for name, i in (
                ("benign", int(np.flatnonzero(dataset.y == 0)[0])),
                ("malignant", int(np.flatnonzero(dataset.y == 1)[0])),
            )
        },
        "rules": {
            "hard": ["every value finite and >= 0", "each *_worst >= its *_mean", "all 30 features, no others"],
            "soft": [
                "value outside the training range",
                "concavity and concave points not zero together",
                "*_se greater than its *_mean",
            ],
        },
        "model": {"family": chosen.name, "title": chosen.title, "hyperparameters": fitted_params, **description},
        "operating_points": {
            name: {
                "threshold": t,
                "target": "maximum sensitivity + specificity"
                if name == "balanced"
                else f"sensitivity >= {metrics.SCREENING_SENSITIVITY}",
                "cv_sensitivity": summary["operating_points"][name]["sensitivity"],
                "cv_specificity": summary["operating_points"][name]["specificity"],
            }
            for name, t in thresholds.items()
        },
        "conformal": {
            "method": "class-conditional (Mondrian) split conformal on out-of-fold calibrated probabilities",
            "levels": [
                {
                    "alpha": alpha,
                    "malignant_if_p_at_least": bounds[0],
                    "benign_if_p_at_most": bounds[1],
                    **{f"cv_{k}": v for k, v in summary["conformal"][str(alpha)].items()},
                }
                for alpha, bounds in conformal.items()
            ],
        },
        "out_of_distribution": {
            "method": "Mahalanobis distance of standardised log1p(x / median), Ledoit-Wolf covariance",
            "threshold": ood_threshold,
            "threshold_rule": f"cross-fitted {ood.QUANTILE} quantile of held-out distances ({ood.FOLDS} folds)",
            **ood_cv,
        },
        "metrics": {"protocol": PROFILES[profile_name].description, **summary["summary"]},
        "explanation": {
            "method": "exact interventional Shapley values of the calibrated log-odds",
            "background": f"weighted k-means of the standardised training rows, {background_size} centres",
            "background_size": background_size,
        },
        "data": dataset.describe(),
        "training": {"profile": profile_name, "seed": seed, "selection_rule": selection_rule},
        "libraries": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
        },
    }


def format_table(families: dict[str, Any], chosen: str) -> str:
    head = f"{'family':<28}" + "".join(f"{m:>17}" for m in METRIC_NAMES)
    lines = [head, "-" * len(head)]
    for name, fam in families.items():
        cells = "".join(f"{fam['summary'][m]['mean']:>9.4f} +/- {fam['summary'][m]['std']:.3f}" for m in METRIC_NAMES)
        mark = " *" if name == chosen else ("" if fam["deployable"] else " (ref)")
        lines.append(f"{fam['title'] + mark:<28}{cells}")
    return "\n".join(lines)


class UsageError(Exception):
    """A command-line argument that cannot be honoured."""


def check_out(out: Path) -> None:
    """Refuse to replace a directory that is not an artifact: --out is deleted and rewritten."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / artifact.MANIFEST).exists())):
        raise UsageError(f"--out {out} exists and is not a model artifact directory; choose another path")


def train(args: argparse.Namespace) -> Path:
    check_out(args.out)
    dataset = data.load(args.data)
    profile = PROFILES[args.profile]
    x, y = dataset.x, dataset.y
    log.info("data: %s (%d rows, %d malignant)", dataset.source, len(y), int(y.sum()))
    splits = protocol.nested_cv(FAMILIES, x, y, profile, args.seed, args.jobs)
    families = {f.name: summarise(splits, f) for f in FAMILIES}
    deployable = [f for f in FAMILIES if f.deployable]
    chosen = min(deployable, key=lambda f: families[f.name]["summary"]["brier"]["mean"])
    rule = SELECTION_RULE
    if args.family is not None:
        chosen, rule = BY_NAME[args.family], f"asked for on the command line (--family {args.family})"
    log.info("chosen: %s (%s)", chosen.title, rule)

    final = protocol.fit_family(BY_NAME[chosen.name], x, y, profile, args.seed)
    assert final.oof_probability is not None
    thresholds, conformal = protocol.policy(y, final.oof_probability)
    arrays, description = export.model_arrays(final.estimator)
    z = (x - arrays["scaler_mean"]) / arrays["scaler_scale"]
    arrays["background"], arrays["background_weights"] = export.background(z, profile.background_size, args.seed)
    arrays.update(ood.fit_with_threshold(x, y, args.seed))
    ood_cv = {f"cv_{k}": metrics.summary([s.ood[k] for s in splits]) for k in splits[0].ood}
    manifest = manifest_for(
        dataset,
        profile.name,
        args.seed,
        chosen,
        rule,
        description,
        final.params,
        thresholds,
        conformal,
        families,
        ood_cv,
        float(arrays["ood_threshold"]),
        len(arrays["background_weights"]),
    )

    out: Path = args.out
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        artifact.write(staging, manifest, arrays)
        predictor = Predictor.load(staging)
        p_numpy = predictor.probability(x)
        p_sklearn = final.probability(x)
        gap = float(np.max(np.abs(p_numpy - p_sklearn)))
        if gap > PARITY_TOLERANCE:
            raise RuntimeError(f"numpy export disagrees with scikit-learn by {gap:.3g} > {PARITY_TOLERANCE:g}")
        explanations = predictor.explain(x)
        contributions = np.array([[e.contributions[f.name] for f in FEATURES] for e in explanations])
        (staging / "explanations.npz").write_bytes(
            artifact.npz_bytes(
                {
                    "contributions": contributions,
                    "base_value": np.asarray(predictor.base_value),
                    "log_odds": predictor.log_odds(x),
                    "x": x,
                    "y": y.astype(np.float64),
                }
            )
        )
        (staging / "oof.npz").write_bytes(
            artifact.npz_bytes(
                {
                    **_pooled_oof(splits, len(y), profile.repeats),
                    "y": y.astype(np.float64),
                    "final_oof_probability": final.oof_probability,
                    "final_probability": p_numpy,
                }
            )
        )
        summary = {
            "disclaimer": DISCLAIMER,
            "model_version": predictor.version,
            "profile": profile.name,
            "protocol": profile.description,
            "seed": args.seed,
            "data": dataset.describe(),
            "selection": {"rule": rule, "chosen": chosen.name},
            "families": families,
            "final_model": manifest["model"],
            "operating_points": manifest["operating_points"],
            "conformal": manifest["conformal"],
            "out_of_distribution": manifest["out_of_distribution"],
            "parity_max_abs_difference": gap,
        }
        (staging / "metrics.json").write_bytes(artifact.json_bytes(summary))
        joblib.dump(final.estimator, staging / "pipeline.joblib")
        report.write(staging)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sys.stdout.write(format_table(families, chosen.name) + "\n")
    sys.stdout.write(
        f"\nchosen: {chosen.title}, model version {predictor.version}\n"
        f"artifact: {out}/ (manifest.json, model.npz, pipeline.joblib)\n"
        f"metrics:  {out / 'metrics.json'}\n"
        f"report:   {out / 'report' / 'report.html'} and {out / 'MODEL_CARD.md'}\n"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        train(args)
    except (CsvError, UsageError) as err:
        log.error("%s", err)
        return 2
    log.info("done in %.1f s wall", time.perf_counter() - started)
    return 0
