"""MODEL_CARD.md in the form of Mitchell et al. (2019), from the stored Inputs."""

from __future__ import annotations

import json
from typing import Any

from cohort import audit
from model.predictor import Predictor
from model.schema import DISCLAIMER
from training.report_inputs import Inputs, clinical_comparison, pct, robustness_rows

STRATA_RESAMPLES = 500
STRATA_FIGURES = ("auc", "sensitivity", "specificity", "calibration_intercept", "brier")

INTENDED_USE = """## Intended use
- Research and teaching: a reproducible, explainable reference model for the WDBC features.
- Out of scope: diagnosis, screening decisions, triage, or any use on a person. It is not a medical device.
  Inputs must be the 30 WDBC nuclear features computed as in the original study; anything else is out of distribution.

## Factors
- The data hold no demographic attributes (age, ethnicity, breast density), so performance across such groups is
  unknown here; a site audits its own groups with `python -m model evaluate COHORT.csv --group COLUMN`. The data's
  own strata (tumour size, texture) are audited below.
- One centre (University of Wisconsin Hospitals), one imaging and feature-extraction protocol, fine-needle aspirates
  digitised in the early 1990s. Other scanners, stains or software will shift the features."""

EVALUATION_DATA = """## Evaluation data
The same rows, by repeated stratified nested cross-validation: every figure above comes from rows the model judged
had not been used to fit or tune it. There is no external test set.

## How to validate this model on your data
`python -m model evaluate COHORT.csv --model DIR --format html --output report.html` judges this model on a
labelled cohort from another site: AUC with a bootstrap interval, calibration-in-the-large and slope, Brier
scores, sensitivity, specificity, PPV and NPV at each operating point with Wilson intervals, conformal coverage
per class, input shift per feature, a decision curve, and the cohort rows that were training rows (counted
apart). Each figure stands beside what nested cross-validation predicted, with a verdict in words; `--group COLUMN`
audits every figure by the cohort's own groups. Recalibrate before any use where the calibration verdicts say the
probabilities do not transfer."""

CLOSING = """## Counterfactuals and similar cases: what they are not
On request each answer carries a counterfactual (the smallest change, in the scaler's standard deviations, of at
most 3 to 5 features within their training ranges and the hard rules, that the model answers with the other label)
and the training cases nearest to the record. A counterfactual is a statement about the model: what it would
answer for another record. It is not advice, not a cause, not what would happen to a tumour or a patient, and not
a feasible or plausible change in biology: features move together in real nuclei, and here they move alone.
Similar cases are near in the model's standardised space, not clinically alike; their diagnoses are the training
labels of one centre, not a second opinion.

## Ethical considerations
- A wrong benign answer can delay care; the screening operating point trades specificity for sensitivity >= 0.99,
  and indeterminate results say when the model should not be trusted at all.
- The disclaimer is part of every response. Logs never hold feature values or results.

## Caveats and recommendations
- 569 rows from one centre: figures carry the spread shown, and will not transfer to other protocols unchecked.
- Probabilities are calibrated on this data only. Recalibrate and re-evaluate before any use elsewhere.
- Treat out-of-distribution flags and warnings as reasons to disregard the output.

## Citation of the data
Street W. N., Wolberg W. H., Mangasarian O. L. (1993). Nuclear feature extraction for breast tumor diagnosis.
IS&T/SPIE Biomedical Image Processing and Biomedical Visualization, 1905, 861-870.
Wolberg W., Mangasarian O., Street N., Street W. (1993). Breast Cancer Wisconsin (Diagnostic). UCI Machine Learning
Repository.
"""


def _details(run: Inputs) -> str:
    m = run.manifest
    hyperparameters = json.dumps(dict(m.model.hyperparameters), sort_keys=True)
    return (
        "## Model details\n"
        f"- {m.model.title} ({m.model.estimator}), hyper-parameters {hyperparameters}, calibrated by "
        f"{m.model.calibration.method} scaling (`CalibratedClassifierCV`, ensemble=False).\n"
        f"- Version {m.model_version}: a content hash of the arrays and the manifest. "
        f"Format version {m.format_version}.\n"
        f"- Selected by {run.metrics.selection_rule}; protocol {run.metrics.protocol}, seed {run.metrics.seed}.\n"
        f"- Served by numpy alone (scikit-learn {m.libraries['scikit-learn']} trained it); every prediction can carry "
        "exact\n  Shapley values of the calibrated log-odds."
    )


def _metrics(run: Inputs) -> str:
    m, s = run.manifest, run.manifest.metrics.scores
    ops = "\n".join(
        f"| {name} | {op.threshold:.4f} | {op.target} | {op.cv_sensitivity.mean:.4f} +/- "
        f"{op.cv_sensitivity.std:.4f} | {op.cv_specificity.mean:.4f} +/- {op.cv_specificity.std:.4f} |"
        for name, op in m.operating_points.items()
    )
    conformal = "\n".join(
        f"| {lv.alpha} | {lv.cv['coverage_malignant'].mean:.4f} | {lv.cv['coverage_benign'].mean:.4f} | "
        f"{pct(lv.cv['indeterminate'].mean)} |"
        for lv in m.conformal.levels
    )
    ood = m.out_of_distribution.cv
    return f"""## Metrics
Nested cross-validation, mean +/- SD over {s["accuracy"].n} outer folds: accuracy {s["accuracy"].mean:.4f} +/-
{s["accuracy"].std:.4f}, AUC {s["auc"].mean:.4f} +/- {s["auc"].std:.4f}, sensitivity {s["sensitivity"].mean:.4f},
specificity {s["specificity"].mean:.4f}, Brier {s["brier"].mean:.4f}, log loss {s["log_loss"].mean:.4f},
ECE {s["ece"].mean:.4f}.

| operating point | threshold | target | CV sensitivity | CV specificity |
|---|---|---|---|---|
{ops}

| alpha | coverage, malignant | coverage, benign | indeterminate |
|---|---|---|---|
{conformal}

Out-of-distribution check: false flags on genuine held-out rows {pct(ood["false_flag_rate"].mean)}; rows with one
feature times 10 caught {pct(ood["detection_rate_one_feature_times_10"].mean)}, divided by 10
{pct(ood["detection_rate_one_feature_over_10"].mean)}; rows with two columns swapped
{pct(ood["detection_rate_two_columns_swapped"].mean)}. Which slips of which feature can and cannot be seen is in the
report's per-feature table.

## Training data
{m.data.source}: {m.data.n_rows} rows, {m.data.n_malignant} malignant, {m.data.n_benign} benign;
sha256 of the feature matrix and labels {m.data.sha256}."""


def _analyses(run: Inputs) -> str:
    families = "\n".join(
        f"| {f.title} | {f.summary['accuracy'].mean:.4f} +/- {f.summary['accuracy'].std:.4f} | "
        f"{f.summary['auc'].mean:.4f} | {f.summary['brier'].mean:.4f} |"
        for f in run.metrics.families.values()
    )
    robust = "\n".join(f"| {a} | {b} | {c} | {e} |" for a, b, c, e in robustness_rows(run))
    return f"""## Quantitative analyses
| family | accuracy | AUC | Brier |
|---|---|---|---|
{families}

Robustness of the shipped family (balanced operating point, alpha 0.05):

| case | accuracy | sensitivity | indeterminate |
|---|---|---|---|
{robust}

{clinical_comparison(run)}

The figures are in `report/report.html`."""


def _cell(row: dict[str, Any]) -> str:
    if row["estimate"] is None:
        return "withheld"
    interval = f" ({row['low']:.3f} to {row['high']:.3f})" if row["low"] is not None else ""
    return f"{row['estimate']:.3f}{interval}{' **flagged**' if row['flag'] else ''}"


def _strata(run: Inputs) -> str:
    """The data's own strata audited on the outer-fold probabilities: hidden stratification, honestly measured."""
    predictor = Predictor.load(run.dir)
    x = predictor.artifact.arrays["training_x"]
    rows = audit.scored(predictor, x, run.y, probability=run.p_outer)
    result = audit.audit_scored(predictor, x, rows, audit.Asked(resamples=STRATA_RESAMPLES, seed=run.metrics.seed))
    by_group: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in result["table"]:
        by_group.setdefault((row["column"], row["group"]), {})[row["figure"]] = row
    lines = [
        f"| stratum | n | events | {' | '.join(STRATA_FIGURES)} |",
        "|---|---|---|" + "---|" * len(STRATA_FIGURES),
    ]
    for g in result["groups"]:
        cells = " | ".join(_cell(by_group[(g["column"], g["group"])][f]) for f in STRATA_FIGURES)
        reference = " (reference)" if g["is_reference"] else ""
        lines.append(f"| {g['column']}: {g['group']}{reference} | {g['n']} | {g['events']} | {cells} |")
    table = "\n".join(lines)
    return f"""## Performance by stratum of the data
Hidden stratification (Oakden-Rayner et al., 2020): the model can fail a stratum while the whole looks well. The
quartiles of tumour size (`area_worst`) and of `texture_mean` in the training rows, audited on the shipped
family's outer-fold probabilities (first repeat) at the {result["operating_point"]} operating point, with
{STRATA_RESAMPLES} bootstrap resamples stratified by outcome (95% intervals). {" ".join(result["rules"][:2])}
Exploratory: a flag asks for a closer look, not a conclusion. Every site's `evaluate` cuts at these quartiles.

{table}"""


def render_card(run: Inputs) -> str:
    title = f"# Model card: WDBC breast-tumour classifier, model {run.manifest.model_version}\n\n> **{DISCLAIMER}**"
    sections = (
        title,
        _details(run),
        INTENDED_USE,
        _metrics(run),
        EVALUATION_DATA,
        _analyses(run),
        _strata(run),
        CLOSING,
    )
    return "\n\n".join(sections)
