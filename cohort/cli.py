"""`python -m model predict FILE.csv --model DIR`: score a CSV with an artifact, numpy only.

`python -m model evaluate COHORT.csv --model DIR [--group COLUMN ...]`: judge the artifact on a labelled cohort,
overall (cohort.evaluate) and by group (cohort.audit).

`python -m model update COHORT.csv --model DIR --out NEWDIR`: update it for a site (cohort.update_command).

`python -m model features OUTLINES.geojson [--image FILE]`: the features from nuclear outlines (cohort.outlines).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

from cohort import audit
from cohort import evaluate as evaluation
from cohort.csvio import read_csv
from model.errors import ArtifactError, CsvError, InputError, UnknownOptionError
from model.predictor import ANSWER, CaseOptions, Predictor
from model.schema import (
    COUNTERFACTUAL_FEATURES_MAX,
    DEFAULT_ALPHA,
    DEFAULT_OPERATING_POINT,
    DISCLAIMER,
    FEATURE_NAMES,
    SIMILAR_CASES_MAX,
    envelope,
)

log = logging.getLogger("model")
# The CSV's columns: the row's line and id, every answer field declared for CSV (model.predictor.ANSWER), the error.
COLUMNS = ("line", "id", *(field.name for field in ANSWER if field.in_csv), "error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=f"Score WDBC rows. {DISCLAIMER}")
    sub = parser.add_subparsers(dest="command", required=True)
    predict = sub.add_parser(
        "predict",
        help="score a CSV file",
        description="Score every row of a CSV (canonical, Kaggle/UCI or scikit-learn column names; an id "
        "and a label column are allowed and ignored). Bad rows are reported by line and do not stop the rest.",
    )
    predict.add_argument("file", type=Path, help="CSV file to score")
    predict.add_argument("--model", type=Path, default=Path("artifacts/model"), help="artifact directory")
    predict.add_argument("--format", choices=("csv", "json"), default="csv", help="output format")
    predict.add_argument("--output", type=Path, default=None, help="output file (default: standard output)")
    predict.add_argument(
        "--operating-point", default=DEFAULT_OPERATING_POINT, help="an operating point of the model (GET /model)"
    )
    predict.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="conformal miscoverage level")
    predict.add_argument(
        "--explain",
        action="store_true",
        help="add each row's exact contributions: base_value and contribution_<feature> columns in CSV, "
        "an explanation object in JSON",
    )
    predict.add_argument(
        "--counterfactual",
        type=int,
        choices=range(1, COUNTERFACTUAL_FEATURES_MAX + 1),
        default=0,
        metavar="N",
        help=f"add each row's counterfactual changing at most N features (1 to {COUNTERFACTUAL_FEATURES_MAX}): "
        "a statement about the model",
    )
    predict.add_argument(
        "--similar-cases",
        type=int,
        choices=range(1, SIMILAR_CASES_MAX + 1),
        default=0,
        metavar="K",
        help=f"add each row's K nearest training cases (1 to {SIMILAR_CASES_MAX}; in CSV, how many agree with "
        "the label)",
    )
    _add_evaluate(sub)
    _add_update(sub)
    _add_features(sub)
    return parser


def _add_features(sub: Any) -> None:
    found = sub.add_parser(
        "features",
        help="the 30 features from nuclear outlines (QuPath GeoJSON) and images: an exploration",
        description="One GeoJSON file prints the answer of POST /features; a folder of NAME.geojson files with their "
        "images (NAME.png, NAME.tif) becomes one cohort CSV for evaluate, update and training. The features follow "
        "this project's documented conventions, not the original program's.",
    )
    found.add_argument("source", type=Path, help="a GeoJSON file, or a folder of GeoJSON files and images")
    found.add_argument("--image", type=Path, default=None, help="the image of a single GeoJSON file (PNG or TIFF)")
    found.add_argument("--scale", type=float, default=None, help="length units per pixel (default 1, with a warning)")
    found.add_argument("--labels", type=Path, default=None, help="a folder's labels: a CSV with id and diagnosis")
    found.add_argument("--output", type=Path, default=None, help="output file (default: standard output)")


def _add_update(sub: Any) -> None:
    update = sub.add_parser(
        "update",
        help="update the model for a site: the least recalibration its cohort supports, as a new version",
        description="Closed testing (Vergouwe et al. 2017) among M0 (the model as it is), M1 (recalibration-in-the-"
        "large) and M2 (logistic recalibration) on the site's labelled cohort, gated by Riley et al.'s (2021) minimum "
        "sample sizes, with bootstrap optimism; writes a new artifact with its lineage (parent, site, method, tests). "
        "Without labels, --prevalence shifts the intercept to a known prevalence. Nothing is written on any error.",
    )
    update.add_argument("file", type=Path, help="the site's cohort CSV (labelled, unless --prevalence)")
    update.add_argument("--model", type=Path, default=Path("artifacts/model"), help="the parent artifact directory")
    update.add_argument("--out", type=Path, required=True, help="the new version's directory (must not exist)")
    update.add_argument("--site", default="site", help="the site's name, recorded in the lineage")
    update.add_argument("--alpha", type=float, default=0.05, help="level of the closed tests (default: %(default)s)")
    update.add_argument(
        "--allow-small-sample",
        action="store_true",
        help="let the tests choose a tier whose sample-size criterion the cohort does not meet (recorded)",
    )
    update.add_argument("--bootstrap", type=int, default=200, help="optimism resamples, 0 for none (default: 200)")
    update.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: %(default)s)")
    update.add_argument(
        "--prevalence", type=float, default=None, help="an unlabelled cohort's known prevalence of malignancy"
    )


def _add_evaluate(sub: Any) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="judge the model on a labelled cohort from another site",
        description="Discrimination, calibration, rates at each operating point, conformal coverage, input shift, "
        "the decision curve and the overlap with the training data, each beside what nested CV predicted. The CSV "
        "follows the training CSV's naming and rules (labels M/B or malignant/benign); bad rows are named by line.",
    )
    evaluate.add_argument("file", type=Path, help="labelled CSV of the cohort")
    evaluate.add_argument("--model", type=Path, default=Path("artifacts/model"), help="artifact directory")
    evaluate.add_argument(
        "--format",
        choices=("json", "csv", "html"),
        default="json",
        help="json: every figure; csv: the subgroup audit's long table; html: a page with plots (default: json)",
    )
    evaluate.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="COLUMN",
        help=f"audit every figure by this column's values (a site, a scanner, an age band; up to "
        f"{audit.MAX_GROUP_COLUMNS} columns, each intersection of two audited too); the training quartiles of "
        f"{', '.join(audit.STRATA_FEATURES)} are audited always",
    )
    evaluate.add_argument(
        "--reference",
        action="append",
        default=[],
        type=_reference,
        metavar="COLUMN=VALUE",
        help="the group each other group of COLUMN is compared with (default: the largest that shows figures)",
    )
    evaluate.add_argument("--output", type=Path, default=None, help="output file (default: standard output)")
    evaluate.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default: %(default)s)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: %(default)s)")


def run_evaluate(args: argparse.Namespace) -> int:
    """Exit 0 when every row was judged, 1 when some rows were refused, 2 when the cohort cannot be judged."""
    predictor = Predictor.load(args.model)
    if len(args.group) > audit.MAX_GROUP_COLUMNS or len(set(args.group)) < len(args.group):
        log.error("--group: at most %d distinct columns, got %s", audit.MAX_GROUP_COLUMNS, args.group)
        return 2
    table = read_csv(args.file, require_labels=True, groups=args.group)
    for line, message in table.row_errors:
        log.warning("%s: line %s: %s", args.file, line, message)
    if table.y is None or len(table.x) == 0 or len(set(table.y.tolist())) < 2:
        log.error("%s: a cohort needs rows of both labels to be judged", args.file)
        return 2
    asked = audit.Asked(table.groups, dict(args.reference), args.bootstrap, args.seed)
    report = evaluation.evaluate(predictor, table.x, table.y, asked)
    report["cohort"] = {"file": args.file.name, "sha256": evaluation.fingerprint(table.x, table.y)}
    report["rows_refused"] = [{"line": line, "error": message} for line, message in table.row_errors]
    if args.format == "json":
        text = json.dumps(report, indent=2) + "\n"
    elif args.format == "csv":
        text = _audit_csv(report["audit"]["table"])
    else:
        from cohort import evaluation_html  # matplotlib: imported for the page alone

        text = evaluation_html.render(report, args.file.name, report["cohort"]["sha256"])
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return 1 if table.row_errors else 0


def _reference(text: str) -> tuple[str, str]:
    column, equals, value = text.partition("=")
    if not equals or not column:
        raise argparse.ArgumentTypeError(f"expected COLUMN=VALUE, got {text!r}")
    return column, value


def _audit_csv(rows: list[dict[str, Any]]) -> str:
    """The audit's long table, one row per group and figure, in audit.COLUMNS order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=audit.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def score(args: argparse.Namespace) -> tuple[list[dict[str, Any]], int, str]:
    predictor = Predictor.load(args.model)
    table = read_csv(args.file)
    rows: list[dict[str, Any]] = [{"line": line, "id": None, "error": message} for line, message in table.row_errors]
    if len(table.x):
        predictions = predictor.predict(
            table.x, operating_point=args.operating_point, alpha=args.alpha, explain=args.explain
        )
        if args.counterfactual or args.similar_cases:
            predictions = predictor.with_cases(predictions, CaseOptions(args.counterfactual, args.similar_cases))
        for line, row_id, p in zip(table.lines, table.ids, predictions, strict=True):
            rows.append({"line": line, "id": row_id, **p.as_dict(), "error": None})
    rows.sort(key=lambda r: int(r["line"]))
    return rows, len(table.row_errors), predictor.version


EXPLANATION_COLUMNS = ("log_odds", "base_value", *(f"contribution_{name}" for name in FEATURE_NAMES))
CASE_COLUMNS = ("counterfactual", "similar_cases_agreeing")


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """For CSV: an explained row's base value and one contribution column per feature; the counterfactual
    in words; how many similar cases agree with the label."""
    explanation, counterfactual, similar = row.get("explanation"), row.get("counterfactual"), row.get("similar_cases")
    flat = {**row, "counterfactual": counterfactual["statement"] if counterfactual else None}
    flat["similar_cases_agreeing"] = f"{similar['agreeing']} of {len(similar['cases'])}" if similar else None
    if explanation:
        flat["base_value"] = explanation["base_value"]
        flat.update({f"contribution_{name}": v for name, v in explanation["contributions"].items()})
    return flat


def render(rows: list[dict[str, Any]], fmt: str, version: str, args: argparse.Namespace) -> str:
    if fmt == "json":
        return json.dumps({**envelope(version), "predictions": rows}, indent=2) + "\n"
    buffer = io.StringIO()
    cases = (CASE_COLUMNS[0],) * bool(args.counterfactual) + (CASE_COLUMNS[1],) * bool(args.similar_cases)
    columns = (*COLUMNS[:-1], *(EXPLANATION_COLUMNS if args.explain else ()), *cases, COLUMNS[-1])
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = _flat(row)
        writer.writerow({k: "|".join(v) if isinstance(v, list) else ("" if v is None else v) for k, v in flat.items()})
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every row was scored, 1 when some rows were bad, 2 when nothing could be scored."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.command == "evaluate":
        try:
            return run_evaluate(args)
        except (ArtifactError, CsvError) as err:
            log.error("%s", err)
            return 2
    if args.command == "features":
        from cohort import outlines  # Pillow, for the images: imported by this command alone

        try:
            return outlines.run(args)
        except (CsvError, InputError) as err:
            log.error("%s", err)
            return 2
    if args.command == "update":
        from cohort import update_command  # training's helpers: imported by this command alone
        from cohort.update import UpdateError

        try:
            return update_command.run(args, sys.argv[1:] if argv is None else argv)
        except (ArtifactError, CsvError, UpdateError) as err:
            log.error("%s", err)
            return 2
    try:
        rows, bad, version = score(args)
    except (ArtifactError, CsvError, UnknownOptionError) as err:
        log.error("%s", err)
        return 2
    text = render(rows, args.format, version, args)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    for row in rows:
        if row["error"]:
            log.warning("%s: %s", args.file, row["error"])
    if bad and bad == len(rows):
        log.error("%s: no row could be scored", args.file)
        return 2
    return 1 if bad else 0
