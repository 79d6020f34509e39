"""`python -m training`: compare model families honestly, fit, calibrate and write the artifact."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from model import artifact
from model import manifest as manifest_io
from model.errors import CsvError
from model.schema import DISCLAIMER
from training import data, fit
from training.families import FAMILIES, PROFILES
from training.results import METRIC_NAMES, FamilyResult
from training.write import UsageError, check_out, write_artifact

log = logging.getLogger("training")


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
    parser.add_argument(
        "--if-outdated",
        action="store_true",
        help="train only when --out holds no artifact, or one whose format is older than this code's "
        "(as after a pull that bumps it); otherwise say so and keep it",
    )
    return parser


def outdated(out: Path) -> str | None:
    """Why the artifact in `out` must be trained again, or None when this code can serve it as it is."""
    path = out / artifact.MANIFEST
    if not path.exists():
        return f"no artifact in {out}/: training"
    try:
        found = manifest_io.format_version(json.loads(path.read_text()))
    except (OSError, ValueError, AttributeError) as err:
        return f"{path} cannot be read ({err}): training again"
    if found != artifact.FORMAT_VERSION:
        return f"{out}/ holds artifact format {found!r}, this code reads {artifact.FORMAT_VERSION}: training again"
    return None


def format_table(families: dict[str, FamilyResult], chosen: str) -> str:
    head = f"{'family':<28}" + "".join(f"{m:>17}" for m in METRIC_NAMES)
    lines = [head, "-" * len(head)]
    for name, fam in families.items():
        cells = "".join(f"{fam.summary[m].mean:>9.4f} +/- {fam.summary[m].std:.3f}" for m in METRIC_NAMES)
        mark = " *" if name == chosen else ("" if fam.deployable else " (ref)")
        lines.append(f"{fam.title + mark:<28}{cells}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> Path:
    """Train as the arguments say, write the artifact and print the comparison."""
    out: Path = args.out
    check_out(out)
    result = fit.train(data.load(args.data), PROFILES[args.profile], args.seed, args.jobs, args.family)
    version = write_artifact(result, out)
    sys.stdout.write(format_table(result.families, result.chosen.name) + "\n")
    sys.stdout.write(
        f"\nchosen: {result.chosen.title}, model version {version}\n"
        f"artifact: {out}/ (manifest.json, model.npz, pipeline.joblib)\n"
        f"metrics:  {out / 'metrics.json'}\n"
        f"report:   {out / 'report' / 'report.html'} and {out / 'MODEL_CARD.md'}\n"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    if args.if_outdated:
        reason = outdated(args.out)
        if reason is None:
            log.info("%s/ holds an artifact of the current format %d: kept", args.out, artifact.FORMAT_VERSION)
            return 0
        log.info("%s", reason)
    try:
        run(args)
    except (CsvError, UsageError) as err:
        log.error("%s", err)
        return 2
    log.info("done in %.1f s wall", time.perf_counter() - started)
    return 0
