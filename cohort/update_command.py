"""`python -m model update COHORT.csv --model DIR --out NEWDIR`: the closed-testing update as a new version.

Imported by the command only: it uses training's helpers (the golden examples, the conformal thresholds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from cohort import site_version, update
from cohort.csvio import CsvTable, read_csv
from cohort.evaluate import fingerprint
from model.arrays import FloatArray, IntArray, sigmoid
from model.errors import CsvError
from model.manifest import CARD_FILE
from model.predictor import Predictor
from model.schema import DISCLAIMER

log = logging.getLogger("model")
MAX_SHOWN = 5
DESCRIPTIONS = {
    "M0": "the model as it is (no recalibration the cohort supports)",
    "M1": "recalibration-in-the-large: logit p = a + LP, LP the parent's calibrated log-odds as offset",
    "M2": "logistic recalibration: logit p = a + b LP",
    "prevalence": "recalibration-in-the-large from a known prevalence: the intercept that makes the mean predicted "
    "probability equal it (no labels)",
}


def _cohort(args: argparse.Namespace) -> CsvTable:
    table = read_csv(args.file, require_labels=args.prevalence is None)
    if table.row_errors:
        shown = "; ".join(f"line {line}: {message}" for line, message in table.row_errors[:MAX_SHOWN])
        raise CsvError(f"{args.file}: {len(table.row_errors)} rows refused, nothing written ({shown})")
    if args.prevalence is not None and table.y is not None:
        raise CsvError(f"{args.file}: the cohort has labels; drop --prevalence to update from them")
    return table


def _intercept_for(prevalence: float, lp: FloatArray) -> float:
    """The intercept a with mean(expit(a + LP)) = prevalence: bisection, as the mean rises with a."""
    low, high = -60.0, 60.0
    for _ in range(200):
        middle = (low + high) / 2
        if float(sigmoid(middle + lp).mean()) < prevalence:
            low = middle
        else:
            high = middle
        if high - low < 1e-13:
            break
    return (low + high) / 2


def _from_labels(args: argparse.Namespace, y: IntArray, lp: FloatArray) -> dict[str, Any]:
    update.check_classes(y)
    size = update.sample_size(y, lp)
    allowed = "M2" if args.allow_small_sample else size.allowed
    choice = update.closed_test(y, lp, args.alpha, allowed)
    override = "none"
    if args.allow_small_sample and update.TIERS.index(choice.method) > update.TIERS.index(size.allowed):
        override = (
            f"--allow-small-sample: {choice.method} chosen with n = {size.n}, below the minimum its criteria ask "
            f"(O/E {size.observed_expected}, slope {size.slope})"
        )
    elif choice.method != choice.chosen:
        log.warning("the tests chose %s, but n = %d supports %s only: %s kept", choice.chosen, size.n, allowed, allowed)
    fit = choice.fits[choice.method]
    intervals = {"intercept": fit.interval(0)} if choice.method != "M0" else {}
    if choice.method == "M2":
        intervals["slope"] = fit.interval(1)
    fitted = update.procedure(args.alpha, allowed)
    return {
        "method": choice.method,
        "chosen_by_tests": choice.chosen,
        "fit": fit,
        "intervals": intervals,
        "tests": choice.tests,
        "sample_size": size,
        "override": override,
        "optimism": update.optimism(y, lp, fitted, args.bootstrap, args.seed) if args.bootstrap else {},
    }


def decide(args: argparse.Namespace, table: CsvTable, parent: Predictor, command: str) -> site_version.Update:
    lp = parent.log_odds(table.x)
    if table.y is None:
        a = _intercept_for(args.prevalence, lp)
        digest = hashlib.sha256(np.ascontiguousarray(table.x, dtype="<f8").tobytes()).hexdigest()
        return site_version.Update(
            args.site, "M1 from a known prevalence", DESCRIPTIONS["prevalence"] + f" ({args.prevalence})", a, 1.0,
            {}, [], len(lp), None, None, "none", {}, digest, command,
        )  # fmt: skip
    found = _from_labels(args, table.y, lp)
    fit = found["fit"]
    return site_version.Update(
        site=args.site,
        method=found["method"],
        description=DESCRIPTIONS[found["method"]],
        intercept=fit.intercept,
        slope=fit.slope,
        intervals=found["intervals"],
        tests=found["tests"],
        n=len(table.y),
        events=int(table.y.sum()),
        sample_size=found["sample_size"],
        override=found["override"],
        optimism=found["optimism"],
        cohort_sha256=fingerprint(table.x, table.y),
        command=command,
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def _figures(u: site_version.Update, rates: dict[str, Any] | None) -> str:
    parts = []
    coefficients = [("intercept", u.intercept), ("slope", u.slope)]
    parts.append(
        _table(
            ("coefficient", "estimate", "95% interval"),
            [
                (
                    name,
                    f"{value:.4f}",
                    "{:.4f} to {:.4f}".format(*u.intervals[name]) if name in u.intervals else "fixed",
                )
                for name, value in coefficients
            ],
        )
    )
    if u.tests:
        tests = [(t.compared, f"{t.deviance_difference:.3f}", str(t.df), f"{t.p_value:.4g}") for t in u.tests]
        parts.append(_table(("likelihood ratio test", "deviance difference", "df", "p"), tests))
    if u.sample_size is not None:
        s = u.sample_size
        criteria = [
            ("O/E, interval width 0.2", str(s.observed_expected), f"{s.achieved_width_observed_expected:.3f}"),
            ("calibration slope, width 0.2", str(s.slope), f"{s.achieved_width_slope:.3f}"),
            (
                f"C statistic (anticipated {s.anticipated_c:.3f}), width 0.1",
                str(s.c_statistic),
                f"{s.achieved_width_c:.3f}",
            ),
        ]
        parts.append(
            f"Riley et al. (2021) minimum sample sizes beside this cohort's n = {s.n} ({s.events} events):\n\n"
            + _table(("criterion", "minimum n", "width this cohort achieves"), criteria)
        )
    if u.optimism:
        o = u.optimism
        figures = [
            (name, f"{o[f'apparent_{name}']:.4f}", f"{o[f'optimism_{name}']:.4f}", f"{o[f'corrected_{name}']:.4f}")
            for name in update.Performance._fields
        ]
        parts.append(
            f"Bootstrap optimism ({int(o['resamples'])} resamples, the choice repeated in each):\n\n"
            + _table(("figure", "apparent", "optimism", "corrected"), figures)
        )
    if rates:
        points = [
            (name, *(f"{r[k]:.3f}" for k in ("sensitivity_before", "sensitivity_after", "specificity_before",
                                               "specificity_after")))
            for name, r in rates.items()
        ]  # fmt: skip
        parts.append(
            "On the site's rows (apparent: the rows that fitted it):\n\n"
            + _table(("operating point", "sensitivity before", "after", "specificity before", "after"), points)
        )
    return "\n\n".join(parts)


def card(parent_card: str, parent: Predictor, u: site_version.Update, table: CsvTable) -> Any:
    """The new version's MODEL_CARD.md, from the new version itself: the update, the site's rates before and
    after, then the parent's card, its headings one level down."""

    def render(child: Predictor) -> str:
        lineage = child.manifest.lineage
        if lineage is None:
            raise ValueError("the new version has no lineage")
        rates = None if table.y is None else site_version.site_rates(parent, child, table.x, table.y)
        inherited = "\n".join(("#" + line) if line.startswith("#") else line for line in parent_card.splitlines())
        return f"""# Model card: WDBC breast-tumour classifier, model {child.version}

> **{DISCLAIMER}**

## Updated for site {u.site}
Model {parent.version} updated for the site "{u.site}" by {u.method}: {u.description}. The new log-odds are
{u.intercept:.4f} + {u.slope:.4f} x the parent's, composed into the calibration (still one affine map of the
margin, so the explanations stay exact and additive). Override of the sample-size gate: {u.override}.

{_figures(u, rates)}

What changed and what did not:
- Drift reference: {lineage.drift_reference}.
- Out-of-distribution reference: the training data's, unchanged (the model's domain).
- Conformal sets: {lineage.conformal}.
- The operating points keep the parent's thresholds; the nested-CV figures below are the parent's, measured on
  the training data, not on the site.
- Cohort sha256: {u.cohort_sha256}. Command: `{u.command}`.

{inherited}
"""

    return render


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Write the new version; CsvError, ArtifactError or UpdateError when nothing can be (nothing is written)."""
    if args.out.exists():
        raise CsvError(f"--out {args.out} exists; the new version goes to a new directory, the parent is untouched")
    if args.prevalence is not None and not 0.0 < args.prevalence < 1.0:
        raise CsvError(f"--prevalence must lie in (0, 1), got {args.prevalence}")
    parent = Predictor.load(args.model)
    table = _cohort(args)
    u = decide(args, table, parent, shlex.join(["python", "-m", "model", *argv]))
    parent_card = (args.model / CARD_FILE).read_text() if (args.model / CARD_FILE).exists() else ""
    child = site_version.write(args.out, parent, u, (table.x, table.y), card(parent_card, parent, u, table))
    summary = {
        "disclaimer": DISCLAIMER,
        "model_version": child.version,
        "lineage": child.card()["lineage"],
        "optimism": {k: v if math.isfinite(v) else None for k, v in u.optimism.items()},
        "site_rates": None if table.y is None else site_version.site_rates(parent, child, table.x, table.y),
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    log.info("new version %s (parent %s, %s) written to %s", child.version, parent.version, u.method, args.out)
    return 0
