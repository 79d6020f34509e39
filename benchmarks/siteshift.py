"""Site-shift drill: train on part of the data, judge the model on the held-out part as another site would,
then on the same rows after a simulated scanner difference; and the performance the window line estimates
without labels, against the accuracy realised.

    python -m benchmarks.siteshift [--work build/siteshift] [--bootstrap 2000] [--json FILE]

The scanner difference multiplies every texture and smoothness feature (mean, se, worst) by 1.2, as a
scanner with another resolution or stain would. Training uses a profile (default: the default one) on
two thirds of the embedded rows (stratified, seeded); the held-out third is the "other site".

The audit drill: the held-out third with two group columns, `scanner` (a seeded half of the rows
through the new scanner, shifted as above) and `clinic` (a seeded random split, which should show
nothing), audited as `python -m model evaluate --group scanner --group clinic` would.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from cohort import audit
from cohort import cli as cohort_cli
from cohort.evaluate import evaluate
from infra.paths import ROOT
from model.drift import DriftWindow, Results
from model.predictor import Predictor
from model.schema import FEATURE_NAMES, FEATURES
from training import cli, data

SHIFTED = tuple(f.position for f in FEATURES if f.measurement in ("texture", "smoothness"))
FACTOR = 1.2
WINDOW = 50


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "diagnosis", *FEATURE_NAMES])
        for i, (row, label) in enumerate(zip(x, y, strict=True)):
            writer.writerow([str(900000 + i), "M" if label else "B", *(repr(float(v)) for v in row)])
    return path


def split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    dataset = data.embedded()
    x_train, x_held, y_train, y_held = train_test_split(
        dataset.x, dataset.y, test_size=1 / 3, stratify=dataset.y, random_state=seed
    )
    return x_train, y_train, x_held, y_held


def shifted(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[:, list(SHIFTED)] *= FACTOR
    return out


def train(work: Path, x: np.ndarray, y: np.ndarray, profile: str) -> Path:
    out = work / f"model-{profile}"
    code = cli.main(["--data", str(write_csv(work / "train.csv", x, y)), "--profile", profile, "--out", str(out)])
    if code != 0:
        raise RuntimeError(f"training on the first site failed with exit code {code}")
    return out


def windows(predictor: Predictor, x: np.ndarray, y: np.ndarray, seed: int, count: int = 40) -> dict[str, Any]:
    """Estimated against realised accuracy over `count` windows of WINDOW rows drawn from (x, y)."""
    rng = np.random.default_rng(seed)
    errors, estimates, realised = [], [], []
    for _ in range(count):
        i = rng.choice(len(y), WINDOW, replace=False)
        window = DriftWindow(predictor.artifact.arrays, WINDOW, 1)
        p = predictor.predict(x[i])
        report = window.add(x[i], Results(p.probability, p.malignant, p.indeterminate, p.out_of_distribution))
        if report is None:
            raise RuntimeError("a full window wrote no report")
        actual = float(np.mean(p.malignant == (y[i] == 1)))
        estimates.append(report.estimated["accuracy"])
        realised.append(actual)
        errors.append(report.estimated["accuracy"] - actual)
    return {
        "windows": count,
        "estimated_mean": float(np.mean(estimates)),
        "realised_mean": float(np.mean(realised)),
        "error_mean": float(np.mean(errors)),
        "error_sd": float(np.std(errors, ddof=1)),
    }


def low_prevalence(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The held-out rows with a third of the malignant ones: a site that sees fewer cancers."""
    malignant = np.flatnonzero(y == 1)
    keep = np.r_[np.flatnonzero(y == 0), malignant[: len(malignant) // 3]]
    return x[keep], y[keep]


def drill(work: Path, resamples: int, profile: str = "default", seed: int = 0) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_held, y_held = split(seed)
    model = train(work, x_train, y_train, profile)
    predictor = Predictor.load(model)
    asked = audit.Asked(resamples=resamples, seed=seed)
    reports = {
        "held_out": evaluate(predictor, x_held, y_held, asked),
        "shifted": evaluate(predictor, shifted(x_held), y_held, asked),
    }
    x_low, y_low = low_prevalence(x_held, y_held)
    estimates = {
        "held_out": windows(predictor, x_held, y_held, seed),
        "low_prevalence": windows(predictor, x_low, y_low, seed),
        "shifted": windows(predictor, shifted(x_held), y_held, seed),
    }
    for report in reports.values():
        del report["audit"]  # the audit drill below shows the audit
    return {
        "model_version": predictor.version,
        "reports": reports,
        "estimates": estimates,
        "audit": audit_drill(predictor, x_held, y_held, resamples, seed),
        "update": update_drill(model, x_held, y_held, seed),
    }


def update_drill(model: Path, x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """The shifted scanner's rows in two halves: the model updated on one (as `python -m model update` would,
    the sample-size gate overridden: the site is small), both versions judged on the other."""
    first, second = train_test_split(np.arange(len(y)), test_size=0.5, stratify=y, random_state=seed)
    moved = shifted(x)
    cohort = write_csv(model.parent / "scanner-first-half.csv", moved[first], y[first])
    out = model.parent / "model-updated"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    args = [str(cohort), "--model", str(model), "--out", str(out), "--site", "new-scanner"]
    if cohort_cli.main(["update", *args, "--allow-small-sample", "--bootstrap", "200", "--seed", str(seed)]) != 0:
        raise RuntimeError("the update of the drill's model failed")
    seconds = time.perf_counter() - started
    child = Predictor.load(out)
    report = evaluate(child, moved[second], y[second], audit.Asked(resamples=200, seed=seed))
    lineage = child.manifest.lineage
    assert lineage is not None
    return {
        "seconds_with_200_resamples": seconds,
        "n_update": len(first),
        "n_judged": len(second),
        "method": lineage.method,
        "tests": [t._asdict() for t in lineage.tests],
        "sample_size": dict(lineage.sample_size),
        "coefficients": dict(lineage.coefficients),
        "after": {k: report[k] for k in ("calibration_intercept", "calibration_slope", "brier", "auc")},
        "before": {k: report["parent"][k] for k in ("calibration_intercept", "calibration_slope", "brier", "auc")},
        "rates_after": {
            n: {k: v[k] for k in ("sensitivity", "specificity")} for n, v in report["operating_points"].items()
        },
        "rates_before": {
            n: {k: v[k] for k in ("sensitivity", "specificity")}
            for n, v in report["parent"]["operating_points"].items()
        },
    }


def update_table(drill: dict[str, Any]) -> str:
    """The update drill's figures on the held-back half, before and after."""
    lines = ["| figure, held-back half of the new scanner's rows | parent | updated |", "|---|---|---|"]
    for name in ("calibration_intercept", "calibration_slope", "brier", "auc"):
        lines.append(f"| {name} | {drill['before'][name]:.3f} | {drill['after'][name]:.3f} |")
    for point in drill["rates_before"]:
        for key in ("sensitivity", "specificity"):
            lines.append(
                f"| {point}: {key} | {drill['rates_before'][point][key]:.3f} | {drill['rates_after'][point][key]:.3f} |"
            )
    s, c = drill["sample_size"], drill["coefficients"]
    tests = "; ".join(
        f"{t['compared']}: deviance {t['deviance_difference']:.2f}, p {t['p_value']:.2g}" for t in drill["tests"]
    )
    slope = f", slope {c['slope']:.3f}" if "slope_low" in c else ""
    gate = "overridden (recorded in the lineage)" if drill["n_update"] < s["observed_expected"] else "met"
    lines += [
        "",
        f"Updated on {drill['n_update']} rows, judged on the other {drill['n_judged']}. Closed tests: {tests}. "
        f"Chosen: {drill['method']} (intercept {c['intercept']:.3f}{slope}). Riley's minimums: O/E "
        f"{s['observed_expected']:.0f}, slope {s['slope']:.0f}, C {s['c_statistic']:.0f} rows: the gate was {gate}. "
        f"The update with 200 bootstrap resamples took {drill['seconds_with_200_resamples']:.1f} s.",
    ]
    return "\n".join(lines)


AUDIT_FIGURES = ("auc", "calibration_intercept", "specificity", "sensitivity", "coverage", "estimated_accuracy")


def audit_drill(predictor: Predictor, x: np.ndarray, y: np.ndarray, resamples: int, seed: int) -> dict[str, Any]:
    """The held-out rows, half through the new scanner, and a random clinic split: the audit's figures."""
    rng = np.random.default_rng(seed)
    new = rng.random(len(y)) < 0.5
    columns = {
        "scanner": ["new" if n else "old" for n in new],
        "clinic": [str(c) for c in rng.choice(["north", "south"], len(y))],
    }
    cohort = np.where(new[:, None], shifted(x), x)
    started = time.perf_counter()
    result = audit.audit(predictor, cohort, y, audit.Asked(columns, {"scanner": "old"}, resamples, seed))
    seconds = time.perf_counter() - started
    shown = [r for r in result["table"] if r["column"] in ("scanner", "clinic") and r["figure"] in AUDIT_FIGURES]
    return {
        "seconds": seconds,
        "resamples": resamples,
        "groups": len(result["groups"]),
        "flags_by_column": {
            c: sum(r["flag"] for r in result["table"] if r["column"] == c) for c in [*columns, "scanner & clinic"]
        },
        "rows": shown,
    }


def _cell(value: float | None, low: float | None = None, high: float | None = None) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if low is None or high is None else f"{value:.3f} ({low:.3f} to {high:.3f})"


def audit_table(drill: dict[str, Any]) -> str:
    """The audit drill's figures for the two group columns, and its flags."""
    lines = [
        "| column | group | n | figure | estimate (95% interval) | difference to reference | flag |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in drill["rows"]:
        estimate = _cell(r["estimate"], r["low"], r["high"])
        difference = _cell(r["difference"], r["difference_low"], r["difference_high"])
        flag = "**flagged**" if r["flag"] else ""
        lines.append(
            f"| {r['column']} | {r['group']} | {r['n']} | {r['figure']} | {estimate} | {difference} | {flag} |"
        )
    flags = ", ".join(f"{c}: {n}" for c, n in drill["flags_by_column"].items())
    lines += [
        "",
        f"Flags by column (every figure): {flags}. {drill['groups']} groups (the strata included), "
        f"{drill['resamples']} resamples: {drill['seconds']:.1f} s.",
    ]
    return "\n".join(lines)


FIGURES = ("auc", "calibration_intercept", "calibration_slope", "brier", "ood_share", "balanced.sensitivity")


def _figure(report: dict[str, Any], name: str) -> float:
    if "." in name:
        point, key = name.split(".")
        return float(report["operating_points"][point][key])
    return float(report[name])


def table(result: dict[str, Any]) -> str:
    lines = ["| figure | held-out site | verdict | shifted scanner | verdict |", "|---|---|---|---|---|"]
    held, moved = result["reports"]["held_out"], result["reports"]["shifted"]
    for name in FIGURES:
        lines.append(
            f"| {name} | {_figure(held, name):.3f} | {held['verdicts'][name]} | "
            f"{_figure(moved, name):.3f} | {moved['verdicts'][name]} |"
        )
    lines.append(
        f"| features moved (PSI > 0.25) | {', '.join(held['features_moved']) or 'none'} | | "
        f"{', '.join(moved['features_moved']) or 'none'} | |"
    )
    lines += [
        "",
        "| windows of 50 | estimated accuracy | realised | mean error | SD of error |",
        "|---|---|---|---|---|",
    ]
    for name, w in result["estimates"].items():
        lines.append(
            f"| {name} | {w['estimated_mean']:.3f} | {w['realised_mean']:.3f} | "
            f"{w['error_mean']:+.3f} | {w['error_sd']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "siteshift")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--profile", default="default", help="training profile of the first site's model")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = drill(args.work, args.bootstrap, args.profile)
    sys.stdout.write(table(result) + "\n")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
